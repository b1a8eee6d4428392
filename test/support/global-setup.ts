import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

/** Starts scripts/test-stack.ts and hands what it started to every test file through the environment. */
export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), path.join(root, 'scripts/test-stack.ts')], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  (globalThis as { __mmsTestStack?: typeof child }).__mmsTestStack = child;
  const line = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`test stack exited with code ${code} before it was ready`)));
  });
  const info = JSON.parse(line) as { databaseServerUrl: string; templateDatabase: string; temporalAddress: string; workflowBundle: string; embeddingsUrl: string };
  process.env.MMS_TEST_DATABASE_SERVER_URL = info.databaseServerUrl;
  process.env.MMS_TEST_TEMPLATE_DATABASE = info.templateDatabase;
  process.env.MMS_TEST_TEMPORAL_ADDRESS = info.temporalAddress;
  process.env.MMS_TEST_WORKFLOW_BUNDLE = info.workflowBundle;
  process.env.MMS_TEST_EMBEDDINGS_URL = info.embeddingsUrl;
  // Worker processes the tests spawn (workers/control-main.ts) use it instead of starting their own.
  process.env.MMS_EMBEDDINGS_URL = info.embeddingsUrl;
  // Spawned control workers leave the shared server's schedules alone: logs-schedules owns them.
  process.env.MMS_SCHEDULES = 'off';
}
