import path from 'node:path';
import { stateDir } from '../paths';
import { findRunningEmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres';

export interface DatabaseHandle {
  url: string;
  source: 'DATABASE_URL' | 'embedded';
  /** Started (or adopted as an orphan) by this process, which stops it; false = someone else's. */
  owned: boolean;
  stop(): Promise<void>;
}

export const embeddedDataDir = () => path.join(stateDir, 'postgres');

/** DATABASE_URL when set (production); otherwise the embedded PostgreSQL under .mms/, started if needed. */
export async function resolveDatabase(options: { onProgress?: (line: string) => void; port?: number } = {}): Promise<DatabaseHandle> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return { url: fromEnv, source: 'DATABASE_URL', owned: false, stop: async () => undefined };
  const handle = await startEmbeddedPostgres({ dataDir: embeddedDataDir(), port: options.port, onProgress: options.onProgress });
  return { url: handle.url, source: 'embedded', owned: handle.owned, stop: handle.stop };
}

/** For read-only commands: the database a running `mms dev` uses, without starting one. */
export async function findDatabase(): Promise<string | undefined> {
  return process.env.DATABASE_URL ?? (await findRunningEmbeddedPostgres(embeddedDataDir(), 'mms'));
}
