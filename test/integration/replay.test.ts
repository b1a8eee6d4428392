/**
 * Committed histories replay against the current workflow bundle: a change to workflow code that
 * would break running workflows (non-determinism) fails here, before it reaches a worker.
 * Record new ones with `MMS_RECORD_HISTORIES=1 npx jest <suite>`.
 */

import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowBundlePath } from '../support/stack';

const dir = path.join(__dirname, '../histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('histories of every lifecycle are committed', () => {
  expect(files).toEqual(expect.arrayContaining(['rollback-completed.json', 'rollback-snapshot-not-found.json', 'guardrails-monitor-adjust-and-rollback.json']));
});

test.each(files)('%s replays without non-determinism', async (file) => {
  const history = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  await Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath() }, replayName: file }, history);
});
