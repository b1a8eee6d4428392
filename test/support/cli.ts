import { Command, CommanderError } from 'commander';
import { CliError, createContext, type CliContext } from '../../cli/context';

export type RegisterCommands = (program: Command, ctx: () => CliContext) => void;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json: () => any;
}

/**
 * Runs `mms -c <config> <args>` in-process the way cli/main.ts does (one-line errors, exit codes 1
 * and 2), with the given command groups registered, capturing output and the exit code.
 */
export async function runMms(register: RegisterCommands[], configFile: string, ...args: string[]): Promise<CliRun> {
  const program = new Command('mms').option('-c, --config <file>').option('--json').exitOverride();
  let ctx: CliContext | undefined;
  const context = () => (ctx ??= createContext(program.opts<{ config?: string; json?: boolean }>()));
  for (const r of register) r(program, context);
  program.commands.forEach(function inherit(cmd: Command) {
    cmd.exitOverride();
    cmd.commands.forEach(inherit);
  });
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true));
  let code = 0;
  try {
    await program.parseAsync(['node', 'mms', '-c', configFile, ...args]);
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode === 0 ? 0 : 2;
    else {
      code = e instanceof CliError ? e.exitCode : 1;
      stderr += `mms: ${(e as Error).message}\n`;
    }
  } finally {
    out.mockRestore();
    err.mockRestore();
    await ctx?.close().catch(() => undefined);
  }
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}
