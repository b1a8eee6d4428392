import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { parse } from 'yaml';
import { GatewayMetrics } from '../../gateway/metrics';
import { createTestDatabase, type TestDatabase } from '../support/stack';

/**
 * The Grafana dashboard (deploy/grafana/dashboards/mms.json) against what MMS really exports: every
 * metric and label a Prometheus panel queries exists in the gateway's registry, every SQL panel runs on
 * a migrated registry as the read-only role the compose stack grants it, and that role cannot read the
 * historical logs.
 */
const root = path.resolve(__dirname, '../..');
interface Target { datasource: { type: string; uid: string }; expr?: string; rawSql?: string }
interface Panel { type: string; title: string; datasource?: { uid: string }; targets?: Target[] }
const dashboard = JSON.parse(fs.readFileSync(path.join(root, 'deploy/grafana/dashboards/mms.json'), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query: { query: string } }> };
};
const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
const promQueries = [...targets.filter((t) => t.expr).map((t) => ({ panel: t.panel, expr: t.expr! })), ...dashboard.templating.list.map((v) => ({ panel: `variable ${v.name}`, expr: v.query.query }))];
const sqlQueries = targets.filter((t) => t.rawSql).map((t) => ({ panel: t.panel, sql: t.rawSql! }));

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

/** name → { type, label names } of everything the gateway's /metrics can show. */
async function exported(): Promise<Map<string, { type: string; labels: string[] }>> {
  const metrics = new GatewayMetrics();
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    const labels = (metrics.registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] }).labelNames ?? [];
    out.set(m.name, { type: String(m.type), labels });
  }
  return out;
}

test('the dashboard has panels of every kind it promises, and every data source it names is provisioned', () => {
  const provisioned = parse(fs.readFileSync(path.join(root, 'deploy/grafana/provisioning/datasources/mms.yml'), 'utf8')) as { datasources: Array<{ uid: string }> };
  const uids = new Set(provisioned.datasources.map((d) => d.uid));
  for (const t of targets) expect(`${t.panel}: ${uids.has(t.datasource.uid)}`).toBe(`${t.panel}: true`);
  const titles = dashboard.panels.map((p) => p.title);
  expect(titles).toEqual(expect.arrayContaining(['Traffic split (share of calls per model and role)', 'Error rate per model', 'Latency p95 per model', 'Guardrail violations by severity', 'Rollout phases', 'Decisions']));
  expect(promQueries.length).toBeGreaterThan(10);
  expect(sqlQueries.length).toBe(3);
});

test('every metric and label a Prometheus panel queries is exported by the gateway', async () => {
  const metrics = await exported();
  const problems: string[] = [];
  for (const { panel, expr } of promQueries) {
    const names = [...new Set(expr.match(/\bmms_[a-z0-9_]+/g) ?? [])];
    expect(names.length).toBeGreaterThan(0);
    const labels = new Set<string>();
    for (const name of names) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const metric = metrics.get(name) ?? (metrics.get(base)?.type === 'histogram' ? metrics.get(base) : undefined);
      if (!metric) problems.push(`${panel}: ${name} is not exported`);
      for (const l of metric?.labels ?? []) labels.add(l);
      if (name.endsWith('_bucket')) labels.add('le');
    }
    // Labels grouped by (`by (…)`), matched (`{label=…}`) or read (`label_values(m, label)`).
    const used = [
      ...[...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim())),
      ...[...expr.matchAll(/[{,]\s*([a-z_]+)\s*(?:=~|!=|!~|=)/g)].map((m) => m[1]!),
      ...[...expr.matchAll(/label_values\([^,]+,\s*([a-z_]+)\)/g)].map((m) => m[1]!),
    ];
    for (const l of used) if (!labels.has(l)) problems.push(`${panel}: label ${l} is not a label of ${names.join(', ')}`);
  }
  expect(problems).toEqual([]);
});

test('the checks above fail on a metric or label the gateway does not export', async () => {
  const metrics = await exported();
  expect(metrics.has('mms_gateway_requests_total')).toBe(true);
  expect(metrics.has('mms_gateway_request_total')).toBe(false);
  expect(metrics.get('mms_gateway_request_duration_seconds')).toMatchObject({ type: 'histogram' });
  expect(metrics.get('mms_gateway_requests_total')!.labels).not.toContain('provider');
});

test('every SQL panel runs on the registry as the read-only Grafana role, which cannot read the logs', async () => {
  const admin = new PgClient({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query(`set mms.grafana_reader_password = 'reader-test-secret'`);
    await admin.query(fs.readFileSync(path.join(root, 'deploy/postgres/grafana-reader.sql'), 'utf8'));
    // Idempotent: the grants service runs after every migration.
    await admin.query(fs.readFileSync(path.join(root, 'deploy/postgres/grafana-reader.sql'), 'utf8'));
    await admin.query(`insert into optimization_decisions (use_case_id, decision_type, reason, status) values ('npc_dialogue', 'rollback', 'error rate 0.12 over SLO 0.05', 'executed')`);
  } finally {
    await admin.end();
  }
  const url = new URL(db.url);
  url.username = 'grafana_reader';
  url.password = 'reader-test-secret';
  const reader = new PgClient({ connectionString: url.toString() });
  await reader.connect();
  try {
    const rows: Record<string, number> = {};
    for (const { panel, sql } of sqlQueries) {
      // Grafana's macros, as Grafana expands them for the last 7 days and "All" use cases.
      const expanded = sql.replace(/\$__timeFilter\(([^)]+)\)/g, `$1 between now() - interval '7 days' and now()`).replace(/\$\{use_case:regex\}/g, '.*');
      expect(expanded).not.toMatch(/\$__|\$\{/);
      rows[panel] = (await reader.query(expanded)).rowCount ?? 0;
    }
    expect(rows).toEqual({ 'Rollout phases': 0, 'Traffic allocations': 0, Decisions: 1 });
    await expect(reader.query('select 1 from model_historical_logs limit 1')).rejects.toThrow(/permission denied/);
    await expect(reader.query('select 1 from api_keys limit 1')).rejects.toThrow(/permission denied/);
  } finally {
    await reader.end();
  }
});
