import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { buildProgram } from '../../cli/main';

/**
 * No Docker engine runs here, so docker-compose.yml is checked for what can be checked: it parses,
 * every image is pinned, and every command it runs exists in this project.
 */
const root = path.resolve(__dirname, '../..');
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: string; command?: string[]; entrypoint?: string[]; depends_on?: unknown }>;
};

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
