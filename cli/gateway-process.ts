import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot } from '../src/paths';
import type { StartedService } from './services';

/** The line `mms gateway` writes once both listeners serve (cli/services.ts). */
const INTERNAL_LISTENER_LINE = /gateway: internal listener \(do not publish\) (http:\/\/\S+):/;

/**
 * `mms dev`'s gateway in a process of its own (`mms gateway --exit-with-parent`), so the data plane's
 * event loop never waits on the Temporal worker's (workflow bundling, activities, history replays),
 * nor the worker on it. The child runs in its own process group: Ctrl-C reaches `mms dev` only, which
 * stops the gateway first (finishing its calls, flushing its log buffer) and the database after it.
 * If `mms dev` dies without stopping it, the child sees its stdin close and stops itself.
 * Resolves once the gateway serves (it printed its internal listener), with its internal address.
 */
export async function startGatewayProcess(options: {
  configPath: string;
  databaseUrl: string;
  port: number;
  say: (line: string) => void;
  /** It exited without being asked to (a crash): `mms dev` stops everything, as it would in process. */
  onUnexpectedExit: (code: number | null) => void;
}): Promise<StartedService & { internalAddress: string }> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin/mms.js'), 'gateway', '--port', String(options.port), '--exit-with-parent'], {
    cwd: process.cwd(),
    env: { ...process.env, MMS_CONFIG: options.configPath, DATABASE_URL: options.databaseUrl },
    stdio: ['pipe', 'inherit', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const internalAddress = await new Promise<string>((resolve, reject) => {
    // Its lines go to this terminal as they are (same format: MMS_LOG_FORMAT is inherited).
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      process.stderr.write(`${line}\n`);
      const served = INTERNAL_LISTENER_LINE.exec(line);
      if (served) resolve(served[1]!);
    });
    void exited.then((code) => reject(new Error(`the gateway process exited with code ${code} before it served (its lines are above)`)));
  });
  options.say(`gateway: running in its own process (pid ${child.pid}), apart from the Temporal worker`);
  let stopping = false;
  void exited.then((code) => {
    if (!stopping) options.onUnexpectedExit(code);
  });
  return {
    name: 'gateway',
    internalAddress,
    stop: async () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM'); // it finishes calls in flight and flushes its log buffer, then exits
      const code = await exited;
      if (code !== 0) options.say(`gateway: its process exited with code ${code}`);
    },
  };
}
