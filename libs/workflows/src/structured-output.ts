// JSON Schema checks for structured outputs, compiled once when the workflow loads. The
// validator is loaded with the first workflow that has structured outputs, not at start.
import type AjvClass from 'ajv';
import { errorMessage } from '@mozaiks/common';

let ajv: AjvClass | undefined;
function validator(): AjvClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (ajv ??= new (require('ajv') as { default: typeof AjvClass }).default({ allErrors: true, strict: false }));
}

/** A checker for `schema`, or what is wrong with the schema itself. */
export function compileSchema(schema: Record<string, unknown>): ((value: unknown) => string[]) | string {
  try {
    const validate = validator().compile(schema);
    return (value) =>
      validate(value)
        ? []
        : (validate.errors ?? []).map((e) => `${e.instancePath || '(reply)'} ${e.message ?? 'is invalid'}`);
  } catch (error) {
    return `not a valid JSON Schema: ${errorMessage(error)}`;
  }
}

/**
 * An agent's structured reply as a value: the JSON itself, else the JSON inside a ```json fence,
 * else the outermost {...} after leading prose. Undefined when none of them parses.
 */
export function parseStructuredReply(content: string | null): unknown {
  if (content === null) return undefined;
  const attempts = [content.trim()];
  const fenced = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/.exec(content);
  if (fenced) attempts.push(fenced[1]!.trim());
  const open = content.indexOf('{');
  const close = content.lastIndexOf('}');
  if (open >= 0 && close > open) attempts.push(content.slice(open, close + 1));
  for (const text of attempts) {
    try {
      return JSON.parse(text);
    } catch {
      // the next reading
    }
  }
  return undefined;
}
