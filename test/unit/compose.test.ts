/**
 * No Docker engine runs here, so docker-compose.yml is checked for what can be checked: it parses,
 * every image is pinned, every command it runs exists in this project, the schema is migrated and the
 * use cases synced before anything serves, and Compose itself accepts the file.
 */

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { buildProgram } from '../../cli/main';

const root = path.resolve(__dirname, '../..');
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: string; command?: string[]; entrypoint?: string[]; depends_on?: unknown; healthcheck?: { test?: string[] } }>;
};

/** `{service: condition}` of a service's depends_on (a list means service_started). */
const dependsOn = (name: string): Record<string, string> => {
  const deps = compose.services[name]!.depends_on;
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d: string) => [d, 'service_started']));
  return Object.fromEntries(Object.entries((deps as Record<string, { condition?: string }>) ?? {}).map(([k, v]) => [k, v.condition ?? 'service_started']));
};
const runs = (name: string) => [...(compose.services[name]!.entrypoint ?? []), ...(compose.services[name]!.command ?? [])].join(' ');

test('every image pulled from a registry is pinned to a version', () => {
  for (const [name, service] of Object.entries(compose.services).filter(([, s]) => !s.build)) {
    expect(`${name}: ${service.image}`).toMatch(/:[^:]*\d[^:]*$/);
    expect(service.image).not.toMatch(/:latest$/);
  }
});

test('every mms command the stack runs is a real command of the CLI', () => {
  const { program } = buildProgram();
  const known = (words: string[]) => {
    let cmd = program;
    for (const word of words.filter((w) => !w.startsWith('-'))) {
      const next = cmd.commands.find((c) => c.name() === word);
      if (!next) return false;
      cmd = next;
    }
    return true;
  };
  const mmsServices = Object.entries(compose.services).filter(([, s]) => s.build);
  expect(mmsServices.map(([name]) => name)).toEqual(expect.arrayContaining(['mms-migrate', 'mms-temporal-setup', 'mms-control-worker', 'mms-gateway']));
  for (const [name, service] of mmsServices) {
    if (service.entrypoint) {
      for (const arg of service.entrypoint.filter((a) => /\.(ts|js)$/.test(a))) expect(`${name}: ${fs.existsSync(path.join(root, arg))}`).toBe(`${name}: true`);
    } else {
      expect(`${name}: ${known(service.command ?? [])}`).toBe(`${name}: true`);
    }
  }
});

test('dependencies name services that exist', () => {
  for (const service of Object.values(compose.services)) {
    const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys((service.depends_on as object) ?? {});
    for (const dep of deps as string[]) expect(Object.keys(compose.services)).toContain(dep);
  }
});

test('only the gateway public API is published; Prometheus scrapes the internal listener', () => {
  const raw = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { ports?: string[]; environment?: Record<string, string> }>;
    configs: Record<string, { content: string }>;
  };
  const published = Object.entries(raw.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name} ${p}`));
  // Everything but the game-facing API is bound to the host's loopback.
  expect(published.filter((p) => !/ 127\.0\.0\.1:/.test(p))).toEqual(['mms-gateway 8080:8080']);
  expect(published.some((p) => p.includes('8081'))).toBe(false);
  expect(raw.services['mms-gateway']!.environment!.MMS_GATEWAY_INTERNAL_HOST).toBe('0.0.0.0');
  const scrape = parse(raw.configs.prometheus!.content) as { scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }> };
  expect(scrape.scrape_configs[0]!.static_configs[0]!.targets).toEqual(['mms-gateway:8081']);
});

/**
 * `docker compose config -q`, or, without the Compose plugin (no Docker here), the same loader built
 * from compose-spec/compose-go by `npm test` (scripts/compose-config): schema, interpolation and
 * references between services are checked either way.
 */
function composeConfig(file: string) {
  const docker = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  const tool = path.join(root, '.tools/bin/compose-config');
  if (docker.status !== 0 && !fs.existsSync(tool)) throw new Error(`no Compose loader: run \`npm test\` once (it builds ${tool}) or install the Docker Compose plugin`);
  const [cmd, args] = docker.status === 0 ? ['docker', ['compose', '-f', file, 'config', '-q']] : [tool, ['-q', file]];
  const run = spawnSync(cmd, args as string[], { cwd: root, encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr.trim() };
}

test('Compose itself accepts the file, and refuses a broken copy of it', () => {
  expect(composeConfig(path.join(root, 'docker-compose.yml'))).toEqual({ status: 0, stderr: '' });
  const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mms-compose-')), 'docker-compose.yml');
  fs.writeFileSync(broken, fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8').replace('mms-sync:\n', 'mms-synk:\n'));
  fs.copyFileSync(path.join(root, 'mms.config.yaml'), path.join(path.dirname(broken), 'mms.config.yaml'));
  const refused = composeConfig(broken);
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toMatch(/depends on undefined service "mms-sync"/);
});

test('the schema is migrated and the use cases synced before any service that serves starts', () => {
  // the migration step waits for a healthy database and is itself a one-shot that must succeed
  expect(runs('mms-migrate')).toBe('db migrate');
  expect(dependsOn('mms-migrate')).toEqual({ 'mms-postgres': 'service_healthy' });
  expect(compose.services['mms-postgres']!.healthcheck?.test?.join(' ')).toContain('pg_isready');
  // the sync step runs after the migration and before the services
  expect(runs('mms-sync')).toBe('usecase sync');
  expect(dependsOn('mms-sync')).toMatchObject({ 'mms-migrate': 'service_completed_successfully' });
  for (const service of ['mms-control-worker', 'mms-gateway']) {
    expect([service, dependsOn(service)]).toEqual([service, expect.objectContaining({ 'mms-migrate': 'service_completed_successfully', 'mms-sync': 'service_completed_successfully' })]);
  }
  // and the workers and gateway sync again at start (a config edit plus a restart is enough)
  expect(runs('mms-control-worker')).toContain('workers/control-main.ts');
  expect(fs.readFileSync(path.join(root, 'workers/control-main.ts'), 'utf8')).toMatch(/await syncUseCases\(prisma, config\)/);
  expect(runs('mms-gateway')).toBe('gateway');
  expect(fs.readFileSync(path.join(root, 'cli/commands/gateway.ts'), 'utf8')).toContain('syncUseCases: true');
  expect(compose.services['mms-gateway']!.healthcheck?.test?.join(' ')).toContain('/readyz');
});

test('Grafana loads the MMS dashboard from the repository; the GPU worker is behind the gpu profile', () => {
  const raw = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { volumes?: string[]; profiles?: string[]; build?: { dockerfile?: string }; depends_on?: unknown }>;
  };
  const mounts = (name: string) => (raw.services[name]!.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => v.split(':')[0]!);
  for (const source of [...mounts('grafana'), ...mounts('grafana-grants')]) expect(`${source}: ${fs.existsSync(path.join(root, source))}`).toBe(`${source}: true`);
  expect(mounts('grafana')).toEqual(expect.arrayContaining(['./deploy/grafana/provisioning', './deploy/grafana/dashboards']));
  expect(dependsOn('grafana')).toMatchObject({ 'grafana-grants': 'service_completed_successfully' });
  expect(dependsOn('grafana-grants')).toMatchObject({ 'mms-migrate': 'service_completed_successfully' });
  expect(raw.services['mms-gpu-worker']!.profiles).toEqual(['gpu']);
  expect(fs.existsSync(path.join(root, raw.services['mms-gpu-worker']!.build!.dockerfile!))).toBe(true);
});
