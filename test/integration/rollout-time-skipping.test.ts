/**
 * The rollout workflow's control paths (pause, abort, promote, inconclusive windows) on Temporal's
 * time-skipping test server with mocked activities: windows of ten minutes and an hour of "nothing may
 * move" take no real time, so these assertions need no sleeps. The real-stack suites
 * (rollout-control.test.ts) prove the same paths against PostgreSQL and real activities.
 * The server is Temporal's Java test server 1.38.0, fetched by scripts/setup.sh.
 */

import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { SearchAttributeType } from '@temporalio/common';
import { mmsSearchAttributes } from '../../src/temporal/search-attributes';
import { Worker } from '@temporalio/worker';
import type { WindowVerdict } from '../../activities/rollout';
import { abortUpdate, pauseUpdate, promoteUpdate, resumeUpdate, rolloutStatusQuery, type RolloutStatus } from '../../workflows/rollout-messages';
import { workflowBundlePath } from '../support/stack';
import { startRolloutWorkflow, testPolicy, waitFor } from '../support/rollout';

const testServer = path.resolve(__dirname, '../../.tools/bin/temporal-test-server');
const USE_CASE = 'rollout_time_skipping';
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  if (!fs.existsSync(testServer)) throw new Error(`${testServer} is missing: run \`npm run setup\` (needs java and mvn)`);
  // The SDK gives the server 5 s to listen; a cold JVM on a loaded machine can take longer, and each
  // attempt warms the next (class files in the page cache), so a few attempts before giving up.
  for (let attempt = 1; ; attempt++) {
    try {
      env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServer } } });
      break;
    } catch (err) {
      if (attempt >= 6 || !/did not start within/.test(String(err))) throw err;
    }
  }
  // the test server implements AddSearchAttributes but not ListSearchAttributes (src/temporal/admin.ts lists first)
  const { IndexedValueType } = temporal.api.enums.v1;
  const searchAttributes = Object.fromEntries(mmsSearchAttributes.map((k) => [k.name, k.type === SearchAttributeType.INT ? IndexedValueType.INDEXED_VALUE_TYPE_INT : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]));
  // the JVM may still be starting its gRPC services under load: retried until it answers
  await waitFor('the test server to register our search attributes', () => env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes }).then(() => true), 60_000, 500);
}, 180_000);
afterAll(async () => {
  await env?.teardown();
});

type Verdict = WindowVerdict['verdict'];

/** Activities that answer at once and record what the workflow asked, in order. */
function mockActivities(verdicts: () => Verdict = () => 'pass') {
  const calls: string[] = [];
  let version = 1;
  const group = { requests: 100, errors: 0, errorRate: 0 };
  return {
    calls,
    activities: {
      async prepareRollout() {
        calls.push('prepareRollout');
        return { candidateModelId: 'candidate', stableModelId: 'stable', candidateName: 'candidate-model' };
      },
      async captureSnapshot(input: { requestKey: string }) {
        calls.push(`captureSnapshot ${input.requestKey.split('/').pop()}`);
        return { snapshotId: 'snapshot-1' };
      },
      async startDeployment() {
        calls.push('startDeployment');
        return { deploymentId: 'deployment-1' };
      },
      async applyTraffic(input: { percent: number }) {
        calls.push(`applyTraffic ${input.percent}`);
        return { allocationVersion: ++version, entries: [], appliedAt: new Date().toISOString() };
      },
      async verifyServedAllocation() {
        return { verified: true, observed: [] };
      },
      async analyseWindow(input: { stageLabel: string; since: string }): Promise<WindowVerdict> {
        calls.push(`analyseWindow ${input.stageLabel}`);
        const verdict = verdicts();
        return { verdict, reason: verdict, canary: group, baseline: group, checks: [], since: input.since, until: new Date().toISOString(), baselineSource: 'same_window' } as unknown as WindowVerdict;
      },
      async restoreSnapshot() {
        calls.push('restoreSnapshot');
        return { allocationVersion: ++version, entries: [], deploymentId: 'rollback-1', restoredModelId: 'stable', previousModelId: 'candidate' };
      },
      async finishDeployment(input: { status: string }) {
        calls.push(`finishDeployment ${input.status}`);
      },
      async finalizePromotion() {
        calls.push('finalizePromotion');
        return { allocationVersion: ++version, entries: [] };
      },
      async postWebhook() {
        return { status: 204 };
      },
    },
  };
}

/** Runs `test` with a worker of the real workflow bundle over the mocked activities. */
async function withWorker<T>(activities: object, test: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `time-skipping-${Math.random().toString(36).slice(2)}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: workflowBundlePath() }, activities });
  return worker.runUntil(test(taskQueue));
}

const inWindow = (handle: { query: (q: typeof rolloutStatusQuery) => Promise<RolloutStatus> }, stageIndex: number) =>
  waitFor(`a window of stage ${stageIndex + 1}`, async () => {
    const s = await handle.query(rolloutStatusQuery);
    return s.stageIndex === stageIndex && s.window?.endsAt !== undefined && s;
  });

test('pause stops the window clock: an hour later nothing moved; resume runs every window to promotion', async () => {
  const { calls, activities } = mockActivities();
  await withWorker(activities, async (taskQueue) => {
    const handle = await startRolloutWorkflow(env.client, taskQueue, { useCaseId: USE_CASE, candidate: 'candidate', policy: testPolicy({ windowSeconds: 600 }) });
    await inWindow(handle, 0);
    await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'checking dashboards', by: 'jest' }] });
    await env.sleep('1 hour');
    const held = await handle.query(rolloutStatusQuery);
    expect(held).toMatchObject({ paused: true, stageIndex: 0, weightPercent: 20, verdicts: [] });
    expect(held.window!.secondsLeftWhenPaused).toBeGreaterThan(0);
    expect(held.window!.secondsLeftWhenPaused).toBeLessThanOrEqual(600);
    expect(calls).not.toContain('analyseWindow 20%');

    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'jest' }] });
    expect(await handle.result()).toMatchObject({ outcome: 'promoted', reason: 'all stages passed', verdicts: 3 });
    expect(calls.filter((c) => c.startsWith('analyseWindow'))).toEqual(['analyseWindow 20%', 'analyseWindow 50%', 'analyseWindow 100%']);
  });
});

test('abort in a ten-minute window restores the snapshot at once and answers once rolled back', async () => {
  const { calls, activities } = mockActivities();
  await withWorker(activities, async (taskQueue) => {
    const handle = await startRolloutWorkflow(env.client, taskQueue, { useCaseId: `${USE_CASE}_abort`, candidate: 'candidate', policy: testPolicy({ windowSeconds: 600 }) });
    await inWindow(handle, 0);
    const status = await handle.executeUpdate(abortUpdate, { args: [{ reason: 'players complain', by: 'jest' }] });
    expect(status).toMatchObject({ phase: 'rolled_back', outcome: 'rolled_back', reason: 'aborted by jest: players complain', weightPercent: 0 });
    expect((await handle.result()).outcome).toBe('rolled_back');
    expect(calls).toEqual(['prepareRollout', 'captureSnapshot snapshot', 'startDeployment', 'applyTraffic 0', 'applyTraffic 20', 'restoreSnapshot', 'finishDeployment rolled_back']);
  });
});

test('promote of one stage ends only its window, unjudged; promote --full skips the rest', async () => {
  const { calls, activities } = mockActivities();
  await withWorker(activities, async (taskQueue) => {
    const handle = await startRolloutWorkflow(env.client, taskQueue, { useCaseId: `${USE_CASE}_promote`, candidate: 'candidate', policy: testPolicy({ windowSeconds: 600 }) });
    await inWindow(handle, 0);
    expect((await handle.executeUpdate(promoteUpdate, { args: [{ full: false, by: 'jest' }] })).phase).toBe('canary');
    expect((await inWindow(handle, 1)).weightPercent).toBe(50);
    const done = await handle.executeUpdate(promoteUpdate, { args: [{ full: true, by: 'jest' }] });
    expect(done).toMatchObject({ phase: 'completed', outcome: 'promoted', reason: 'promoted by an operator', weightPercent: 100, verdicts: [] });
    expect(calls.filter((c) => c.startsWith('analyseWindow'))).toEqual([]);
    expect(calls.slice(-2)).toEqual(['finalizePromotion', 'captureSnapshot snapshot-after']);
  });
});

test('inconclusive windows are extended, then the rollout pauses for a person and runs no window for an hour', async () => {
  let inconclusive = true;
  const { calls, activities } = mockActivities(() => (inconclusive ? 'inconclusive' : 'pass'));
  await withWorker(activities, async (taskQueue) => {
    const handle = await startRolloutWorkflow(env.client, taskQueue, {
      useCaseId: `${USE_CASE}_inconclusive`,
      candidate: 'candidate',
      policy: testPolicy({ windowSeconds: 600, analysis: { maxInconclusiveExtensions: 1 } }),
    });
    const paused = await waitFor('the rollout to pause', async () => {
      await env.sleep('10 minutes'); // lets the windows run out
      const s = await handle.query(rolloutStatusQuery);
      return s.paused && s;
    });
    expect(paused.pauseReason).toBe('stage 1 (20%) inconclusive after 2 window(s): inconclusive');
    await env.sleep('1 hour');
    expect((await handle.query(rolloutStatusQuery)).verdicts).toHaveLength(2);
    expect(calls.filter((c) => c.startsWith('analyseWindow'))).toHaveLength(2);

    inconclusive = false;
    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'jest' }] });
    expect(await handle.result()).toMatchObject({ outcome: 'promoted', verdicts: 5 });
  });
});
