import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { redactSecrets, registerSecret, safeErrorMessage } from '../../src/logging/redact';

const root = path.resolve(__dirname, '../..');

test('registered secrets and credential-shaped strings are masked wherever they appear', () => {
  registerSecret('planted-provider-key-0123456789');
  expect(redactSecrets('upstream said: bad key planted-provider-key-0123456789 (401)')).toBe('upstream said: bad key [REDACTED] (401)');
  expect(redactSecrets('Authorization: Bearer abcdefghijklmnop')).toBe('Authorization: Bearer [REDACTED]');
  expect(redactSecrets('key sk-proj-AbCdEf0123456789xyz and sk-ant-api03-ZZZZZZZZZZZZ')).toBe('key [REDACTED] and [REDACTED]');
  expect(redactSecrets('token hf_abcdefghijklmnop, google AIzaSyA1234567890abcdefghijk')).toBe('token [REDACTED], google [REDACTED]');
  expect(redactSecrets('postgresql://postgres:s3cr3t%2Fpw@127.0.0.1:5432/mms')).toBe('postgresql://postgres:[REDACTED]@127.0.0.1:5432/mms');
  expect(safeErrorMessage(new Error('failed with planted-provider-key-0123456789'))).toBe('failed with [REDACTED]');
  expect(redactSecrets('nothing secret here: npc_dialogue v3')).toBe('nothing secret here: npc_dialogue v3');
});

test('a provider key read from the environment never reaches a log line', () => {
  const key = 'sk-planted-4f9d2c1e8b7a6d5c';
  const script = `
    const { loadConfig } = require('./src/config/load');
    const { createLogger } = require('./src/logging/logger');
    loadConfig('mms.config.yaml');
    const log = createLogger('t');
    log.info({ apiKey: process.env.OPENAI_API_KEY, headers: { authorization: 'Bearer ' + process.env.OPENAI_API_KEY } }, 'calling with ' + process.env.OPENAI_API_KEY);
    log.error(new Error('401 for key ' + process.env.OPENAI_API_KEY));
    log.flush();
  `;
  const run = spawnSync(process.execPath, ['-e', `require('tsx/cjs/api').register(); ${script}`], {
    cwd: root,
    env: { ...process.env, OPENAI_API_KEY: key, MMS_LOG_FD: '1' },
    encoding: 'utf8',
  });
  expect(run.status).toBe(0);
  const lines = run.stdout.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(run.stdout).not.toContain(key);
  expect(run.stdout).not.toContain('4f9d2c1e8b7a6d5c');
  expect(run.stdout).toContain('[REDACTED]');
});
