import type { Client } from '@temporalio/client';
import type { PrismaClient } from '@prisma/client';
import { loadConfig, defaultConfigPath } from '../src/config/load';
import type { MmsConfig } from '../src/config/schema';
import { findDatabase } from '../src/db/database';
import { createPrisma } from '../src/db/prisma';
import { connectClient } from '../src/temporal/connection';
import { cliActor, recordAuditEvent } from '../src/audit/events';

/** What every command gets: lazily loaded config, database and Temporal client, and output helpers. */
export interface CliContext {
  configPath: string;
  config(): MmsConfig;
  prisma(): Promise<PrismaClient>;
  temporal(): Promise<Client>;
  json: boolean;
  /** Prints `data` as one JSON document with --json, else the human rendering. */
  print(data: unknown, human: () => string): void;
  progress(line: string): void;
  /** Records an administrative action of this CLI user in the audit (`mms audit`). */
  audit(action: string, target: string, details?: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** A failure the CLI reports as one line and a non-zero exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function createContext(options: { config?: string; json?: boolean }): CliContext {
  const configPath = options.config ?? defaultConfigPath();
  let config: MmsConfig | undefined;
  let prisma: PrismaClient | undefined;
  let client: Client | undefined;
  const json = Boolean(options.json);
  return {
    configPath,
    json,
    config: () => (config ??= loadConfig(configPath)),
    async prisma() {
      if (prisma) return prisma;
      const url = await findDatabase();
      if (!url) throw new CliError('no database: set DATABASE_URL, or start the embedded one with `mms dev` (or `npm start`)');
      prisma = createPrisma(url, { max: 4 });
      return prisma;
    },
    async temporal() {
      if (client) return client;
      try {
        client = await connectClient(this.config());
      } catch (err) {
        throw new CliError(`Temporal is not reachable (${(err as Error).message.split('\n')[0]}): start it with \`mms dev\` or set TEMPORAL_ADDRESS`);
      }
      return client;
    },
    print(data, human) {
      process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
    },
    progress(line) {
      if (!json) process.stderr.write(`${line}\n`);
    },
    async audit(action, target, details) {
      await recordAuditEvent(await this.prisma(), { actor: cliActor(), action, target, details });
    },
    async close() {
      await prisma?.$disconnect();
      await client?.connection.close();
    },
  };
}

/** A plain text table: the first row is the header. */
export function table(rows: Array<Array<string | number | null | undefined>>): string {
  if (rows.length === 0) return '';
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
