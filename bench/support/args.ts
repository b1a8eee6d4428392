/**
 * The one command-line parser of the benches, on `node:util` parseArgs: each bench declares its
 * flags once (kind, default, bounds) and gets back a typed object keyed by the flag in camelCase
 * (`--power-rollouts` → `powerRollouts`). Bad input is an error naming the flag, the bounds and the
 * value given; an unknown flag is an error listing the known ones.
 *
 *   const o = parseBenchArgs('bench:analysis', process.argv.slice(2), {
 *     rollouts: { type: 'number', default: 400, min: 1, max: 1e6, integer: true },
 *     json: { type: 'boolean' },
 *   });
 */
import { parseArgs } from 'node:util';

interface NumberFlag {
  type: 'number';
  default: number;
  min: number;
  max: number;
  /** A count: a value with a fraction is refused rather than rounded. */
  integer?: boolean;
}
/** A comma-separated list of numbers (`--rates 500,1000`), each within the bounds. */
interface NumberListFlag {
  type: 'numbers';
  default: number[];
  min: number;
  max: number;
}
interface BooleanFlag {
  type: 'boolean';
}
interface StringFlag {
  type: 'string';
  default?: string;
}
export type BenchFlag = NumberFlag | NumberListFlag | BooleanFlag | StringFlag;

type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;
type FlagValue<F extends BenchFlag> = F extends NumberFlag
  ? number
  : F extends NumberListFlag
    ? number[]
    : F extends BooleanFlag
      ? boolean
      : F extends { default: string }
        ? string
        : string | undefined;
export type BenchOptions<Spec extends Record<string, BenchFlag>> = { [K in keyof Spec & string as CamelCase<K>]: FlagValue<Spec[K]> };

const camelCase = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function parseNumber(flag: string, text: string, spec: NumberFlag | NumberListFlag): number {
  const n = Number(text);
  const integer = spec.type === 'number' && spec.integer;
  if (text.trim() === '' || !Number.isFinite(n) || n < spec.min || n > spec.max || (integer && !Number.isInteger(n))) {
    throw new Error(`--${flag}: must be a ${integer ? 'whole number' : 'number'} from ${spec.min} to ${spec.max}, got "${text}"`);
  }
  return n;
}

/** Parses `argv` against `spec`; `bench` names the command in errors ("bench:rollout: --runs: …"). */
export function parseBenchArgs<Spec extends Record<string, BenchFlag>>(bench: string, argv: string[], spec: Spec): BenchOptions<Spec> {
  const known = Object.keys(spec).map((f) => `--${f}`).join(' ');
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(spec).map(([flag, s]) => [flag, { type: s.type === 'boolean' ? 'boolean' : 'string' }] as const)),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const unknown = /Unknown option '([^']+)'/.exec(message);
    throw new Error(`${bench}: ${unknown ? `unknown option ${unknown[1]}` : message} (known: ${known})`);
  }
  const options: Record<string, unknown> = {};
  try {
    for (const [flag, s] of Object.entries(spec)) {
      const given = values[flag];
      const key = camelCase(flag);
      if (s.type === 'boolean') options[key] = given === true;
      else if (s.type === 'string') options[key] = (given as string | undefined) ?? s.default;
      else if (given === undefined) options[key] = s.default;
      else if (s.type === 'number') options[key] = parseNumber(flag, given as string, s);
      else options[key] = (given as string).split(',').map((part) => parseNumber(flag, part, s));
    }
  } catch (err) {
    throw new Error(`${bench}: ${(err as Error).message}`);
  }
  return options as BenchOptions<Spec>;
}
