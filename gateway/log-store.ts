/**
 * Historical-log rows and where they are written. A row becomes a record of column values (plain
 * JSON: that is also what a spill file holds), and a store inserts records a batch per statement.
 * Two stores: over `pg` directly (the gateway's log thread) and over Prisma (in-process use).
 */

import crypto from 'node:crypto';
import type { PrismaClient } from '@prisma/client';
import { Pool } from 'pg';
import { jsonbText, storableText } from '../src/db/jsonb';

export interface LogRow {
  id: string;
  requestId: string;
  modelId: string | null;
  /** Null only for a call shed by admission control: its body (and so its use case) was never read. */
  useCase: string | null;
  role: string;
  allocationVersion: number | null;
  /** `shed`: refused by admission control (gateway/admission.ts) before its body was read. */
  status: 'ok' | 'error' | 'incomplete' | 'blocked' | 'shed';
  errorClass: string | null;
  prompt: string;
  context: Record<string, unknown>;
  generatedOutput: string;
  latencyMs: number;
  ttftMs: number | null;
  tokensIn: number | null;
  tokensOut: number | null;
  costUsd: number | null;
  guardrailVerdict: string | null;
  /** The raw sticky key: hashed (sha256) when the row is written, never stored as is. */
  stickyKey: string | null;
  performanceMetrics: Record<string, unknown> | null;
  timestamp: Date;
  userFeedback?: Record<string, unknown>;
  feedbackScore?: number;
  correctedOutput?: string;
  feedbackAt?: Date;
  /** Upstream attempts the call made (retries and the fallback's attempt included). */
  attempts?: number;
  /** Error class of the call's first upstream attempt when it failed, even if a retry then succeeded. */
  firstAttemptError?: string | null;
}

export interface ViolationRow {
  id: string;
  logId: string;
  modelId: string | null;
  useCaseId: string;
  violationType: string;
  severity: string;
  violationDetails: Record<string, unknown>;
  outputSample: string;
  interventionTaken: string;
  timestamp: Date;
}

const hashKey = (key: string) => crypto.createHash('sha256').update(key).digest('hex');

/** A jsonb column's text (NUL stripped, lone surrogates mended: src/db/jsonb). */
const jsonText = (v: unknown) => (v === undefined || v === null ? null : jsonbText(v));

/** A row as its columns: plain JSON, so a spilled line is exactly what will be inserted. */
export interface LogRecord {
  id: string;
  modelId: string | null;
  useCase: string | null;
  prompt: string;
  context: string | null;
  generatedOutput: string;
  userFeedback: string | null;
  correctedOutput: string | null;
  performanceMetrics: string | null;
  timestamp: string;
  requestId: string;
  role: string;
  allocationVersion: number | null;
  status: string;
  errorClass: string | null;
  latencyMs: number;
  ttftMs: number | null;
  tokensIn: number | null;
  tokensOut: number | null;
  costUsd: string | null;
  guardrailVerdict: string | null;
  stickyKeyHash: string | null;
  feedbackScore: number | null;
  feedbackAt: string | null;
  attempts: number | null;
  firstAttemptError: string | null;
}

export interface ViolationRecord {
  id: string;
  logId: string;
  modelId: string | null;
  useCaseId: string;
  violationType: string;
  severity: string;
  violationDetails: string | null;
  outputSample: string;
  interventionTaken: string;
  timestamp: string;
}

export function toLogRecord(row: LogRow): LogRecord {
  return {
    id: row.id,
    modelId: row.modelId,
    useCase: row.useCase,
    prompt: storableText(row.prompt),
    context: jsonText(row.context),
    generatedOutput: storableText(row.generatedOutput),
    userFeedback: jsonText(row.userFeedback),
    correctedOutput: row.correctedOutput === undefined ? null : storableText(row.correctedOutput),
    performanceMetrics: jsonText(row.performanceMetrics),
    timestamp: row.timestamp.toISOString(),
    requestId: row.requestId,
    role: row.role,
    allocationVersion: row.allocationVersion,
    status: row.status,
    errorClass: row.errorClass,
    latencyMs: row.latencyMs,
    ttftMs: row.ttftMs,
    tokensIn: row.tokensIn,
    tokensOut: row.tokensOut,
    costUsd: row.costUsd === null ? null : row.costUsd.toFixed(10),
    guardrailVerdict: row.guardrailVerdict,
    stickyKeyHash: row.stickyKey === null ? null : hashKey(row.stickyKey),
    feedbackScore: row.feedbackScore ?? null,
    feedbackAt: row.feedbackAt ? row.feedbackAt.toISOString() : null,
    attempts: row.attempts ?? null,
    firstAttemptError: row.firstAttemptError ?? null,
  };
}

export function toViolationRecord(row: ViolationRow): ViolationRecord {
  return { ...row, violationDetails: jsonText(row.violationDetails), outputSample: storableText(row.outputSample), timestamp: row.timestamp.toISOString() };
}

const column = <T, K extends keyof T>(rows: T[], key: K) => rows.map((r) => r[key]);

const LOG_COLUMNS = ['id', 'modelId', 'useCase', 'prompt', 'context', 'generatedOutput', 'userFeedback', 'correctedOutput', 'performanceMetrics', 'timestamp', 'requestId', 'role', 'allocationVersion', 'status', 'errorClass', 'latencyMs', 'ttftMs', 'tokensIn', 'tokensOut', 'costUsd', 'guardrailVerdict', 'stickyKeyHash', 'feedbackScore', 'feedbackAt', 'attempts', 'firstAttemptError'] as const;
const LOG_TYPES = ['uuid', 'uuid', 'varchar', 'text', 'jsonb', 'text', 'jsonb', 'text', 'jsonb', 'timestamptz', 'varchar', 'varchar', 'int', 'varchar', 'varchar', 'float8', 'float8', 'int', 'int', 'numeric', 'varchar', 'varchar', 'float8', 'timestamptz', 'int2', 'varchar'];
const VIOLATION_COLUMNS = ['id', 'logId', 'modelId', 'useCaseId', 'violationType', 'severity', 'violationDetails', 'outputSample', 'interventionTaken', 'timestamp'] as const;
const VIOLATION_TYPES = ['uuid', 'uuid', 'uuid', 'varchar', 'varchar', 'varchar', 'jsonb', 'text', 'varchar', 'timestamptz'];

/**
 * Violations: one statement per batch, one array parameter per column, unnested into rows (few rows:
 * only answers with findings have any). Static SQL; the rows are parameters. ON CONFLICT DO NOTHING
 * makes a replayed row a no-op.
 */
export const INSERT_VIOLATIONS_SQL = `insert into guardrails_violations (violation_id, log_id, model_id, use_case_id, violation_type, severity,
  violation_details, output_sample, intervention_taken, "timestamp")
  select * from unnest(${VIOLATION_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) on conflict do nothing`;

/**
 * Both stores' statement: the batch as ONE jsonb parameter, an array of rows, each row an array of
 * its column values (jsonb columns as their JSON text). Its text is one native JSON.stringify (about a
 * third of the CPU of one array parameter per column, whose elements `pg` quotes and escapes one by one:
 * 21 % of the log thread's time in a bench:gateway profile), and each row is one element, so a row's
 * columns cannot be split across rows. ON CONFLICT DO NOTHING keeps replays idempotent.
 */
export const INSERT_LOGS_JSON_SQL = `insert into model_historical_logs (log_id, model_id, use_case, prompt, context, generated_output, user_feedback,
  corrected_output, performance_metrics, "timestamp", request_id, role, allocation_version, status, error_class, latency_ms, ttft_ms, tokens_in,
  tokens_out, cost_usd, guardrail_verdict, sticky_key_hash, feedback_score, feedback_at, attempts, first_attempt_error_class)
  select ${LOG_TYPES.map((t, i) => `(r->>${i})::${t}`).join(', ')} from jsonb_array_elements($1::jsonb) as r on conflict do nothing`;

/** The rows of a batch as the JSON text of INSERT_LOGS_JSON_SQL. */
export const logBatchJson = (rows: LogRecord[]): string => jsonbText(rows.map((r) => LOG_COLUMNS.map((k) => r[k])));

const violationParams = (rows: ViolationRecord[]) => VIOLATION_COLUMNS.map((k) => column(rows, k));

/**
 * Which database a store writes to, as a short hash of the URL's host, port and database name (never
 * its credentials). Spill files carry it in their name, so rows spilled while one database was down are
 * replayed into that database only: a spill directory shared by gateways (or bench runs, or tests) of
 * different databases would otherwise replay rows whose model ids the other database does not have.
 */
export function databaseIdentity(databaseUrl: string | undefined): string {
  let key = 'unknown';
  if (databaseUrl) {
    try {
      const u = new URL(databaseUrl);
      key = `${u.hostname}:${u.port || '5432'}${u.pathname}|${u.searchParams.get('host') ?? ''}`;
    } catch {
      key = 'unparsable';
    }
  }
  return crypto.createHash('sha256').update(key).digest('hex').slice(0, 12);
}

export interface LogStore {
  /** databaseIdentity() of the database written to. */
  readonly database: string;
  insertLogs(rows: LogRecord[]): Promise<void>;
  insertViolations(rows: ViolationRecord[]): Promise<void>;
  /** Can the database be reached right now? */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/** In-process store over the gateway's Prisma client (tests, embedding without a database URL). */
export class PrismaLogStore implements LogStore {
  readonly database: string;
  /** `databaseUrl`: the client's database (DATABASE_URL when omitted), for the spill files' identity. */
  constructor(
    private readonly prisma: PrismaClient,
    databaseUrl = process.env.DATABASE_URL,
  ) {
    this.database = databaseIdentity(databaseUrl);
  }
  async insertLogs(rows: LogRecord[]) {
    await this.prisma.$executeRawUnsafe(INSERT_LOGS_JSON_SQL, logBatchJson(rows));
  }
  async insertViolations(rows: ViolationRecord[]) {
    await this.prisma.$executeRawUnsafe(INSERT_VIOLATIONS_SQL, ...violationParams(rows));
  }
  async probe() {
    await this.prisma.$queryRaw`select 1`;
  }
  async close() {
    // the Prisma client belongs to the caller
  }
}

/** The log thread's store: `pg` directly, no query compiler on the way. */
export class PgLogStore implements LogStore {
  readonly pool: Pool;
  readonly database: string;
  constructor(databaseUrl: string) {
    this.database = databaseIdentity(databaseUrl);
    this.pool = new Pool({ connectionString: databaseUrl, max: 3, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
    this.pool.on('error', () => undefined); // a dropped idle connection: the next query reconnects
  }
  async insertLogs(rows: LogRecord[]) {
    await this.pool.query(INSERT_LOGS_JSON_SQL, [logBatchJson(rows)]);
  }
  async insertViolations(rows: ViolationRecord[]) {
    await this.pool.query(INSERT_VIOLATIONS_SQL, violationParams(rows));
  }
  async probe() {
    await this.pool.query('select 1');
  }
  async close() {
    await this.pool.end();
  }
}
