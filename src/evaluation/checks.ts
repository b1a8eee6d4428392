/**
 * The use-case tests of the config, run on one answer. Persona tests need the judge and are run by
 * it (judge.ts); here they report "needs judge".
 */

import { detect } from 'tinyld';
import type { ValidateFunction } from 'ajv';
import type { UseCaseTest } from '../config/schema';
import { compileJsonSchema } from '../config/json-schema';

export interface TestOutcome {
  /** `type` or the test's name. */
  test: string;
  passed: boolean;
  /** Why it failed (the first schema error, the missing word, the detected language…). */
  detail?: string;
}

export const testName = (test: UseCaseTest, index: number) => test.name ?? `${test.type}#${index + 1}`;

/** Answers often wrap JSON in a markdown fence; the schema applies to what is inside. */
function jsonBody(text: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/i.exec(text);
  return fenced ? fenced[1]! : text;
}

export function createAnswerChecks(tests: UseCaseTest[]): { names: string[]; run(answer: string): TestOutcome[]; personaTests: Array<{ name: string; persona: string }> } {
  const validators = new Map<number, ValidateFunction>();
  tests.forEach((t, i) => {
    if (t.type === 'json_schema') validators.set(i, compileJsonSchema(t.schema));
  });
  const names = tests.map(testName);
  return {
    names,
    personaTests: tests.flatMap((t, i) => (t.type === 'persona' ? [{ name: names[i]!, persona: t.persona }] : [])),
    run(answer) {
      const out: TestOutcome[] = [];
      tests.forEach((t, i) => {
        const test = names[i]!;
        switch (t.type) {
          case 'json_schema': {
            let value: unknown;
            try {
              value = JSON.parse(jsonBody(answer));
            } catch (err) {
              out.push({ test, passed: false, detail: `not JSON: ${(err as Error).message}` });
              break;
            }
            const validate = validators.get(i)!;
            const ok = validate(value) as boolean;
            const first = validate.errors?.[0];
            out.push(ok ? { test, passed: true } : { test, passed: false, detail: `${first?.instancePath || '/'} ${first?.message ?? 'does not match the schema'}` });
            break;
          }
          case 'regex': {
            const ok = new RegExp(t.pattern, t.flags).test(answer);
            out.push(ok ? { test, passed: true } : { test, passed: false, detail: `does not match /${t.pattern}/${t.flags}` });
            break;
          }
          case 'max_length':
            out.push(answer.length <= t.chars ? { test, passed: true } : { test, passed: false, detail: `${answer.length} characters > ${t.chars}` });
            break;
          case 'must_include': {
            const hay = t.caseSensitive ? answer : answer.toLowerCase();
            const missing = t.values.filter((v) => !hay.includes(t.caseSensitive ? v : v.toLowerCase()));
            out.push(missing.length === 0 ? { test, passed: true } : { test, passed: false, detail: `missing ${missing.map((m) => JSON.stringify(m)).join(', ')}` });
            break;
          }
          case 'must_not_include': {
            const hay = t.caseSensitive ? answer : answer.toLowerCase();
            const present = t.values.filter((v) => hay.includes(t.caseSensitive ? v : v.toLowerCase()));
            out.push(present.length === 0 ? { test, passed: true } : { test, passed: false, detail: `contains ${present.map((m) => JSON.stringify(m)).join(', ')}` });
            break;
          }
          case 'language': {
            const found = detect(answer);
            // Too short to tell: not counted against the answer.
            out.push(!found || found === t.language ? { test, passed: true } : { test, passed: false, detail: `language ${found}, expected ${t.language}` });
            break;
          }
          case 'persona':
            break; // judged by the judge model (judge.ts)
        }
      });
      return out;
    },
  };
}
