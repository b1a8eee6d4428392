import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { configSchema, type MmsConfig } from './schema';
import { registerSecret } from '../logging/redact';

/** Thrown for a configuration that must not start anything; `problems` has one line per fault. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const secretLikeKey = /(api[_-]?key|secret|token|password)$/i;

/** `useCases[2].temperature` from ['useCases', 2, 'temperature']. */
export function formatPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out || '(root)';
}

function describeType(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  return typeof input === 'object' ? 'a mapping' : `${typeof input} ${JSON.stringify(input)}`;
}

const expectedNames: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  array: 'a list',
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
};

/** One readable message per zod issue, in the words an operator editing YAML expects. */
function messageFor(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${expectedNames[issue.expected] ?? `a ${issue.expected}`}, got ${describeType(issue.input)}`;
    case 'too_big': {
      const op = issue.inclusive === false ? '<' : '<=';
      return issue.origin === 'array' ? `must have at most ${issue.maximum} items` : issue.origin === 'string' ? `must be at most ${issue.maximum} characters` : `must be ${op} ${issue.maximum}`;
    }
    case 'too_small': {
      const op = issue.inclusive === false ? '>' : '>=';
      return issue.origin === 'array' ? `must have at least ${issue.minimum} item${Number(issue.minimum) === 1 ? '' : 's'}` : issue.origin === 'string' ? (Number(issue.minimum) === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`) : `must be ${op} ${issue.minimum}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
}

/** Every problem of a zod error as `path: message`, sorted the way the file reads. */
export function formatIssues(error: z.ZodError): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const at = formatPath([...issue.path, key]);
        lines.push(
          secretLikeKey.test(key)
            ? `${at}: secrets must not be written in the config file; set apiKeyEnv to the name of the environment variable that holds it`
            : `${at}: unknown key`,
        );
      }
      continue;
    }
    lines.push(`${formatPath(issue.path)}: ${issue.message}`);
  }
  return lines;
}

export function parseConfig(raw: unknown, source = 'configuration'): MmsConfig {
  const result = configSchema.safeParse(raw, { error: (issue) => messageFor(issue) });
  if (!result.success) throw new ConfigError(source, formatIssues(result.error));
  return result.data;
}

export function parseConfigText(text: string, source = 'configuration'): MmsConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  return parseConfig(doc.toJS() ?? {}, source);
}

export function defaultConfigPath(): string {
  return path.resolve(process.env.MMS_CONFIG ?? 'mms.config.yaml');
}

/** Reads, validates and registers the provider keys it names as secrets to redact. */
export function loadConfig(file = defaultConfigPath()): MmsConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  const config = parseConfigText(text, file);
  for (const provider of Object.values(config.providers)) {
    if (provider.apiKeyEnv) registerSecret(process.env[provider.apiKeyEnv]);
  }
  return config;
}

/** The key of a provider, read from the environment variable its config names; never stored. */
export function providerApiKey(config: MmsConfig, providerId: string): string | undefined {
  const env = config.providers[providerId]?.apiKeyEnv;
  return env ? process.env[env] : undefined;
}
