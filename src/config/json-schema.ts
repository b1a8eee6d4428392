import Ajv, { type ValidateFunction } from 'ajv';

/** One validator cache for every JSON schema of the config (use-case tests). */
const ajv = new Ajv({ allErrors: true, strict: false });

export function compileJsonSchema(schema: Record<string, unknown>): ValidateFunction {
  return ajv.compile(schema);
}

/** Why a JSON schema cannot be compiled, or undefined when it can. */
export function jsonSchemaProblem(schema: Record<string, unknown>): string | undefined {
  try {
    compileJsonSchema(schema);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
