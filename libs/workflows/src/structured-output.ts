// JSON Schema checks for structured outputs, compiled once when the workflow loads.
import Ajv from 'ajv';

const ajv = new Ajv({ allErrors: true, strict: false });

/** A checker for `schema`, or what is wrong with the schema itself. */
export function compileSchema(schema: Record<string, unknown>): ((value: unknown) => string[]) | string {
  try {
    const validate = ajv.compile(schema);
    return (value) => (validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '(reply)'} ${e.message ?? 'is invalid'}`));
  } catch (error) {
    return `not a valid JSON Schema: ${error instanceof Error ? error.message : String(error)}`;
  }
}
