/**
 * An operator's first day, exactly as the README tells it: `mms dev` (what `npm start` runs), then in
 * another terminal `npx mms doctor`, `npx mms model register npc_dialogue --provider local_vllm --model
 * my-finetune`, `npx mms rollout start npc_dialogue my-finetune-npc-dialogue --wait` and `npx mms
 * rollback npc_dialogue`, against a fake OpenAI-compatible server standing in for vLLM. Players call
 * the gateway meanwhile. The gateway polls the registry slowly (1 s), so traffic changes wait for it
 * (NotYetServed retries) — and the `mms dev` terminal shows no WARN line and no stack trace for that.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { freePort } from '../../src/db/embedded-postgres';
import { rolloutWorkflowId } from '../../workflows/rollout-messages';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';

const root = path.resolve(__dirname, '../..');
let stateDir: string;
let env: NodeJS.ProcessEnv;
let fake: FakeProvider;
let temporalPort: number;
let gatewayPort: number;
let uiPort: number;
let internalPort: number;
let dev: ChildProcess | undefined;
let devOutput = '';

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-first-day-'));
  fake = await startFakeProvider({ latencyMs: 3, record: true });
  [temporalPort, gatewayPort, uiPort, internalPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const configFile = path.join(stateDir, 'mms.config.yaml');
  fs.writeFileSync(
    configFile,
    [
      `temporal: { uiUrl: "http://127.0.0.1:${uiPort}", controlTaskQueue: mms-control-first-day }`,
      '# the registry is polled once a second: every traffic change waits for the gateway to pick it up',
      `gateway: { allocationPollMs: 1000, internal: { port: ${internalPort} } }`,
      'providers:',
      `  local_vllm: { kind: openai_compatible, baseUrl: "${fake.baseUrls.openai_compatible}" }`,
      'useCases:',
      '  - id: npc_dialogue',
      '    kind: self_hosted',
      '    temperature: 0.8',
      '    maxTokens: 128',
      '    systemPromptTemplate: "You are {{npc_name}}, a character in the game."',
      '    initialModel: { provider: local_vllm, model: llama-3.1-8b-instruct }',
      '    regressionPrompts:',
      '      - { prompt: "Where can I find the blacksmith?", metadata: { npc_name: Mira } }',
      '      - { prompt: "I need a room for the night.", metadata: { npc_name: Old Tom } }',
      'policies:',
      '  # ~25 calls a second cannot show non-inferiority within the default margins in 4 s windows:',
      '  # margins a first day can show (a few hundred calls a side)',
      '  rollout:',
      '    steps: [50, 100]',
      '    windowSeconds: 4',
      '    stableHoldbackPercent: 0   # 5 % of ~25 calls/s is 5 calls a window: the 100 % step is judged against stable before it',
      '    # the fake answers in milliseconds: a window is judged 1 s after it closes, not after the default 35 s grace',
      '    analysis: { minSamples: 10, graceSeconds: 1, maxErrorRateIncrease: 0.05, maxFirstAttemptFailureRateIncrease: 0.05, maxViolationRateIncrease: 0.05, maxUnhealthyEngagementRateIncrease: 0.05, maxLatencyP95IncreasePercent: 100, maxLatencySlowerProbability: 0.75 }',
    ].join('\n'),
  );
  // `mms` as npm installs it (node_modules/.bin symlink), for the commands the README does not show
  fs.mkdirSync(path.join(stateDir, 'node_modules/.bin'), { recursive: true });
  fs.symlinkSync(path.join(root, 'bin/mms.js'), path.join(stateDir, 'node_modules/.bin/mms'));
  const { DATABASE_URL: _db, TEMPORAL_ADDRESS: _t, MMS_LOG_FORMAT: _f, ...rest } = process.env;
  env = { ...rest, MMS_STATE_DIR: stateDir, MMS_CONFIG: configFile, MMS_GATEWAY_PORT: String(gatewayPort) };
});

afterAll(async () => {
  if (dev && dev.exitCode === null) {
    await new Promise((resolve) => {
      dev!.once('exit', resolve);
      dev!.kill('SIGINT');
    });
  }
  await fake?.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking this process (the fake provider and the players live here). */
function run(command: string, args: string[], cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A README command, run as the README runs it: `npx mms …` from the project directory. */
const npx = (...args: string[]) => run('npx', ['mms', ...args], root);
/** `mms` through its node_modules/.bin symlink, for the commands the README does not show. */
const mms = (...args: string[]) => run(path.join(stateDir, 'node_modules/.bin/mms'), args);
/** Exit status 0, or the command's output in the failure message. */
const succeeded = (r: Run) => expect(r.status === 0 ? 'exit 0' : `exit ${r.status}\n${r.stderr}\n${r.stdout}`).toBe('exit 0');

/** Players talking to Mira through the gateway, ~25 calls a second, each with a sticky key of their own. */
function startPlayers(key: string) {
  let stopped = false;
  let n = 0;
  const answers = new Map<string, number>();
  const loop = (async () => {
    while (!stopped) {
      const batch = Array.from({ length: 5 }, () =>
        fetch(`http://127.0.0.1:${gatewayPort}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-mms-sticky-key': `player-${n++}` },
          body: JSON.stringify({ model: 'npc_dialogue', messages: [{ role: 'user', content: `hello ${n % 7}` }], metadata: { npc_name: 'Mira' } }),
        })
          .then(async (r) => {
            const body = (await r.json()) as { choices?: Array<{ message: { content: string } }> };
            const who = r.ok ? body.choices![0]!.message.content.split(':')[0]! : `http ${r.status}`;
            answers.set(who, (answers.get(who) ?? 0) + 1);
          })
          .catch(() => undefined),
      );
      await Promise.all([...batch, new Promise((r) => setTimeout(r, 200))]);
    }
  })();
  return {
    answers,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

test('the README first day: doctor, register + validate, rollout --wait to promotion, rollback undoes it; a quiet mms dev terminal', async () => {
  // Terminal 1: `npm start` (setup, then `mms dev`).
  dev = spawn(path.join(stateDir, 'node_modules/.bin/mms'), ['dev', '--temporal-port', String(temporalPort), '--ui-port', String(uiPort), '--gateway-port', String(gatewayPort)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      devOutput += d.toString();
      if (devOutput.includes('[mms dev] ready')) resolve();
    };
    dev!.stdout!.on('data', onData);
    dev!.stderr!.on('data', onData);
    dev!.once('exit', (code) => reject(new Error(`mms dev exited with ${code}:\n${devOutput}`)));
  });

  // Terminal 2, the README's commands.
  const doctor = await npx('doctor');
  expect({ status: doctor.status, stderr: doctor.stderr }).toEqual({ status: 0, stderr: '' });
  expect(doctor.stdout).toMatch(/^✔ config\s+.*mms\.config\.yaml: 1 use cases, 1 providers$/m);
  expect(doctor.stdout).toMatch(/^✔ provider local_vllm\s+openai_compatible at http:\/\/127\.0\.0\.1:\d+\/v1, no key needed$/m);
  expect(doctor.stdout).toMatch(/^all checks passed/m);

  const registered = await npx('model', 'register', 'npc_dialogue', '--provider', 'local_vllm', '--model', 'my-finetune');
  succeeded(registered);
  expect(registered.stderr).toMatch(/^registered my-finetune-npc-dialogue@1 on npc_dialogue \(local_vllm:my-finetune\): [0-9a-f-]{36}\nvalidating my-finetune-npc-dialogue@1: workflow validate:[0-9a-f-]{36}\nhttp:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/validate%3A/);
  expect(registered.stdout).toMatch(/^validated my-finetune-npc-dialogue@1: 2\/2 prompts answered, p50 \d+ ms \(regression prompts\); status candidate\nroll it out: mms rollout start npc_dialogue my-finetune-npc-dialogue --wait\n$/);
  // the validation really went through the provider adapter to the upstream model
  expect(fake.requests.filter((r) => r.model === 'my-finetune').map((r) => (r.body.messages as Array<{ content: string }>)[0]!.content)).toEqual([
    'You are Mira, a character in the game.',
    'You are Old Tom, a character in the game.',
  ]);

  // An unvalidated candidate is refused, naming the command that fixes it.
  const unvalidated = await mms('model', 'register', 'npc_dialogue', '--provider', 'local_vllm', '--model', 'other-finetune', '--no-validate');
  expect({ status: unvalidated.status, stderr: unvalidated.stderr }).toEqual({ status: 0, stderr: '' });
  const refused = await mms('rollout', 'start', 'npc_dialogue', 'other-finetune-npc-dialogue');
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/^mms: refusing to roll out: model other-finetune-npc-dialogue@1 has not been validated: run `mms model validate [0-9a-f-]{36}`, or force the rollout \(--force\)\n$/);

  const key = JSON.parse((await mms('apikey', 'create', 'game-server', '--scope', 'gateway', '--json')).stdout).key as string;
  const players = startPlayers(key);
  let rollout;
  try {
    rollout = await npx('rollout', 'start', 'npc_dialogue', 'my-finetune-npc-dialogue', '--wait');
  } finally {
    await players.stop();
  }
  expect({ status: rollout.status, stderr: rollout.stderr.replace(/\(deployment [0-9a-f-]+\)/, '(deployment …)').replace(/\/[^/\s]+\/history/, '/…/history') }).toEqual({
    status: 0,
    stderr: `rollout started: rollout:npc_dialogue (deployment …)\nhttp://127.0.0.1:${uiPort}/namespaces/default/workflows/rollout%3Anpc_dialogue/…/history\n`,
  });
  expect(rollout.stdout).toMatch(/^outcome promoted: all stages passed$/m);
  expect(players.answers.get('reply from my-finetune')).toBeGreaterThan(0);

  const rollback = await npx('rollback', 'npc_dialogue');
  succeeded(rollback);
  expect(rollback.stderr).toMatch(/^undo on npc_dialogue: back to llama-3\.1-8b-instruct-npc-dialogue@1 from my-finetune-npc-dialogue@1 — restoring snapshot [0-9a-f-]{36} \(.+\)\nrollback started: rollback:npc_dialogue\n/);
  expect(rollback.stdout).toMatch(
    new RegExp(`^rolled back npc_dialogue to llama-3\\.1-8b-instruct-npc-dialogue@1 \\(snapshot [0-9a-f-]{36}\\): allocation v\\d+, verified by registry, gateway http://127\\.0\\.0\\.1:${internalPort}\n$`),
  );
  // the gateway serves the model from before the promotion
  const served = (await (await fetch(`http://127.0.0.1:${internalPort}/v1/allocations/npc_dialogue`)).json()) as { entries: Array<{ modelId: string; role: string }> };
  const models = JSON.parse((await mms('model', 'list', '--use-case', 'npc_dialogue', '--json')).stdout) as Array<{ id: string; modelName: string; status: string }>;
  expect(served.entries).toEqual([{ modelId: models.find((m) => m.modelName === 'llama-3.1-8b-instruct-npc-dialogue')!.id, role: 'stable', weight: 10_000 }]);

  // The waits for the slow gateway happened (verification retried), yet the terminal stayed quiet.
  const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
  try {
    const history = await new Client({ connection }).workflow.getHandle(rolloutWorkflowId('npc_dialogue')).fetchHistory();
    const scheduled = new Map(history.events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name]));
    const verifyAttempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes && scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) === 'verifyServedAllocation').map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
    expect(Math.max(...verifyAttempts)).toBeGreaterThanOrEqual(2);
  } finally {
    await connection.close();
  }
  expect(devOutput).not.toMatch(/WARN/);
  expect(devOutput).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // no stack trace
  expect(devOutput).not.toMatch(/^\{"level"/m); // lines for people, not JSON
  expect(devOutput).toMatch(/^\[mms dev\] ready — Temporal Web UI/m);
}, 600_000);
