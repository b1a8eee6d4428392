import { Command, CommanderError } from 'commander';
import { ConfigError } from '../src/config/load';
import { redactSecrets } from '../src/logging/redact';
import { createContext, CliError, type CliContext } from './context';
import { registerDbCommands } from './commands/db';
import { registerGatewayCommands } from './commands/gateway';
import { registerRolloutCommands } from './commands/rollout';
import { registerPipelineCommands } from './commands/pipeline';
import { registerDevCommand } from './commands/dev';
import { registerDoctorCommand, registerTemporalCommands } from './commands/doctor';
import { registerLifecycleCommands } from './commands/lifecycle';
import { registerLogsCommands } from './commands/logs';
import { registerGuardrailsCommands } from './commands/guardrails';
import { registerRegistryCommands } from './commands/registry';
import { registerModelCommands } from './commands/models';
import { registerEvaluationCommands } from './commands/evaluation';
import { registerPaidSwitchCommands } from './commands/paid-switch';
import { registerMetaCommands } from './commands/meta';

export function buildProgram(): { program: Command; context: () => CliContext } {
  const program = new Command('mms')
    .description('Model Management System: keeps the best model in service for every use case of the game')
    .option('-c, --config <file>', 'configuration file (default: $MMS_CONFIG or ./mms.config.yaml)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride();
  let ctx: CliContext | undefined;
  const context = () => (ctx ??= createContext(program.opts<{ config?: string; json?: boolean }>()));
  registerDevCommand(program, context);
  registerDoctorCommand(program, context);
  registerRegistryCommands(program, context);
  registerModelCommands(program, context);
  registerLifecycleCommands(program, context);
  registerRolloutCommands(program, context);
  registerPipelineCommands(program, context);
  registerEvaluationCommands(program, context);
  registerPaidSwitchCommands(program, context);
  registerDbCommands(program, context);
  registerTemporalCommands(program, context);
  registerGatewayCommands(program, context);
  registerLogsCommands(program, context);
  registerGuardrailsCommands(program, context);
  registerMetaCommands(program, context);
  // Every subcommand inherits --json and exits through the handler below.
  program.commands.forEach(function inherit(cmd: Command) {
    cmd.exitOverride();
    cmd.commands.forEach(inherit);
  });
  return { program, context };
}

export async function main(argv: string[]): Promise<number> {
  const { program, context } = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    const code = err instanceof CliError ? err.exitCode : 1;
    process.stderr.write(`mms: ${redactSecrets((err as Error).message ?? String(err))}\n`);
    return code;
  } finally {
    await context().close().catch(() => undefined);
  }
}
