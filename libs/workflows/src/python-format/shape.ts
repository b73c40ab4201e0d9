// Workflow folders written for the Python MozaiksAI runtime, read as they are: each of its files is
// reshaped into this runtime's form before validation. What has no effect here becomes a warning
// placed in the file, and what cannot be honoured becomes a problem that says what to do instead.
// This file: how a reshaped document looks, and how a folder of that form is recognised.

export type Path = (string | number)[];

/** A note on a document: `field` is a path in the document as written, `key` a key of the mapping there. */
export interface Note {
  field: Path;
  key?: string;
  message: string;
}

/** A document reshaped into this runtime's form, with the way back to the places of the original. */
export interface Adapted {
  value: unknown;
  warnings: Note[];
  problems: Note[];
  /** Maps a path of `value` to the path in the document it came from. */
  toDocument: (field: Path) => Path;
}

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const same = (field: Path) => field;

/** Whether any of a folder's documents is in the Python runtime's shape. */
export function isPythonFormat(documents: Partial<Record<string, unknown>>, hasPythonFiles: boolean): boolean {
  if (hasPythonFiles) return true;
  const { orchestrator, agents, tools, context_variables, handoffs, structured_outputs } = documents;
  if (isObject(orchestrator) && ('entry_point' in orchestrator || 'initial_message_to_user' in orchestrator))
    return true;
  if (isObject(agents) && isObject(agents.agents)) return true;
  if (
    isObject(agents) &&
    Array.isArray(agents.agents) &&
    agents.agents.some(
      (a) => isObject(a) && ('prompt_sections' in a || 'prompt_sections_custom' in a || 'auto_tool_mode' in a),
    )
  )
    return true;
  const pythonTool = (t: unknown) => isObject(t) && ('auto_invoke' in t || (isObject(t.ui) && 'mode' in t.ui));
  if (
    isObject(tools) &&
    ['tools', 'lifecycle_tools'].some((key) => Array.isArray(tools[key]) && (tools[key] as unknown[]).some(pythonTool))
  )
    return true;
  if (
    isObject(context_variables) &&
    ('definitions' in context_variables || isObject(context_variables.context_variables))
  )
    return true;
  if (
    isObject(handoffs) &&
    Array.isArray(handoffs.handoff_rules) &&
    handoffs.handoff_rules.some((h) => isObject(h) && ('transition_target' in h || 'condition_scope' in h))
  )
    return true;
  if (
    isObject(structured_outputs) &&
    (isObject(structured_outputs.structured_outputs) || 'registry' in structured_outputs)
  )
    return true;
  return false;
}

/** Removes `key` from `entry` when it is null (the Python runtime writes every key, unset ones as null). */
export function dropNulls(entry: Json, keys: readonly string[]): void {
  for (const key of keys) if (key in entry && entry[key] === null) delete entry[key];
}

/** The Python runtime's type names (of variables and model fields) as JSON Schema's. */
export const TYPE_ALIASES: Record<string, string> = {
  str: 'string',
  string: 'string',
  text: 'string',
  bool: 'boolean',
  boolean: 'boolean',
  int: 'integer',
  integer: 'integer',
  float: 'number',
  number: 'number',
  list: 'array',
  array: 'array',
  dict: 'object',
  object: 'object',
  json: 'object',
};
