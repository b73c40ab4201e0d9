// A Python tool's parameters from its source, as AG2 derives them: the signature's type hints
// (with `Annotated[..., "description"]`) become the JSON Schema offered to the model, the
// docstring its description. Read from the text, without running Python, so the executor and
// `mozaiks validate` know a tool's schema without an interpreter.

/** Parameters the runtime fills in itself, never offered to the model. */
export const CONTEXT_PARAMETER = 'context_variables';

export interface PythonSignature {
  /** JSON Schema of the arguments the model gives. */
  parameters: Record<string, unknown>;
  /** The first paragraph of the docstring, if any. */
  description?: string;
  /** The function has a `context_variables` parameter. */
  takesContext: boolean;
}

/** Splits `text` at top-level occurrences of `separator` (outside brackets and strings). */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0 && text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      start = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** `Name[args]` as its name and top-level arguments. */
function subscript(annotation: string): { head: string; args: string[] } {
  const open = annotation.indexOf('[');
  if (open < 0 || !annotation.endsWith(']')) return { head: annotation.trim(), args: [] };
  return {
    head: annotation.slice(0, open).trim(),
    args: splitTopLevel(annotation.slice(open + 1, -1), ',')
      .map((a) => a.trim())
      .filter(Boolean),
  };
}

const unquote = (literal: string): string | undefined => {
  const m = /^[rbuf]*("""|'''|"|')([\s\S]*)\1$/i.exec(literal.trim());
  return m ? m[2]!.replace(/\\(.)/g, '$1') : undefined;
};

/** A type hint as JSON Schema; what cannot be told is left open. */
export function annotationSchema(annotation: string): Record<string, unknown> {
  const text = annotation.trim().replace(/^(typing|t)\./, '');
  const union = splitTopLevel(text, '|').map((s) => s.trim());
  if (union.length > 1) return { anyOf: union.map(annotationSchema) };
  const { head, args } = subscript(text);
  const name = head.replace(/^(typing|t)\./, '');
  switch (name) {
    case 'Annotated': {
      const base = annotationSchema(args[0] ?? 'Any');
      const description = args
        .slice(1)
        .map(unquote)
        .find((d) => d !== undefined);
      return description ? { ...base, description } : base;
    }
    case 'Optional':
      return { anyOf: [annotationSchema(args[0] ?? 'Any'), { type: 'null' }] };
    case 'Union':
      return { anyOf: args.map(annotationSchema) };
    case 'Literal':
      return {
        enum: args.map(
          (a) => unquote(a) ?? (a === 'True' ? true : a === 'False' ? false : a === 'None' ? null : Number(a)),
        ),
      };
    case 'str':
      return { type: 'string' };
    case 'int':
      return { type: 'integer' };
    case 'float':
      return { type: 'number' };
    case 'bool':
      return { type: 'boolean' };
    case 'None':
      return { type: 'null' };
    case 'dict':
    case 'Dict':
    case 'Mapping':
    case 'MutableMapping':
      return { type: 'object' };
    case 'list':
    case 'List':
    case 'Sequence':
    case 'Iterable':
    case 'set':
    case 'Set':
    case 'tuple':
    case 'Tuple':
      return args[0] && args[0] !== '...' ? { type: 'array', items: annotationSchema(args[0]) } : { type: 'array' };
    default:
      return {};
  }
}

/** Descriptions of parameters in a Google-style (`Args:`) or Sphinx-style (`:param x:`) docstring. */
function docstringParameters(doc: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of doc.matchAll(/:param\s+(?:\w+\s+)?(\w+):\s*(.+)/g)) found.set(m[1]!, m[2]!.trim());
  const args =
    /^\s*(?:Args|Arguments|Parameters):\s*\n([\s\S]*?)(?:\n\s*\n|\n\s*(?:Returns|Raises|Yields|Examples?):|(?![\s\S]))/m.exec(
      doc,
    );
  if (args) {
    for (const line of args[1]!.split('\n')) {
      const m = /^\s*(\w+)\s*(?:\([^)]*\))?:\s*(.+)$/.exec(line);
      if (m && !found.has(m[1]!)) found.set(m[1]!, m[2]!.trim());
    }
  }
  return found;
}

/** The signature of top-level function `name` in a Python module's source, or undefined when it has none. */
export function readPythonSignature(source: string, name: string): PythonSignature | undefined {
  const def = new RegExp(`^(?:async[ \\t]+)?def[ \\t]+${name}[ \\t]*\\(`, 'm').exec(source);
  if (!def) return undefined;
  // The parameter list runs to the parenthesis that closes the one after the name.
  let depth = 1;
  let quote: string | undefined;
  let i = def.index + def[0].length;
  const start = i;
  for (; i < source.length && depth > 0; i++) {
    const c = source[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '#') i = source.indexOf('\n', i) < 0 ? source.length : source.indexOf('\n', i) - 1;
    else if (c === '"' || c === "'") quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
  }
  if (depth !== 0) return undefined;
  const list = source.slice(start, i - 1).replace(/#[^\n]*/g, '');
  const colon = source.indexOf(':', i);
  const body = colon < 0 ? '' : source.slice(colon + 1);
  const doc =
    /^\s*(?:[rRuU]?)("""|''')([\s\S]*?)\1/.exec(body)?.[2] ?? /^\s*[rRuU]?(["'])((?:\\.|(?!\1).)*)\1/.exec(body)?.[2];
  const documented = doc ? docstringParameters(doc) : new Map<string, string>();

  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  let takesContext = false;
  for (const raw of splitTopLevel(list, ',')) {
    const param = raw.trim();
    if (!param || param === '*' || param === '/' || param.startsWith('*')) continue;
    const [declaration, ...defaults] = splitTopLevel(param, '=');
    const [paramName, ...annotation] = splitTopLevel(declaration!, ':');
    const key = paramName!.trim();
    if (key === 'self' || key === 'cls') continue;
    if (key === CONTEXT_PARAMETER) {
      takesContext = true;
      continue;
    }
    const schema = annotation.length ? annotationSchema(annotation.join(':')) : {};
    const description = documented.get(key);
    properties[key] = description && !('description' in schema) ? { ...schema, description } : schema;
    if (defaults.length === 0) required.push(key);
  }
  const summary = doc
    ?.trim()
    .split(/\n\s*\n/)[0]
    ?.replace(/\s+/g, ' ')
    .trim();
  return {
    parameters: { type: 'object', properties, required, additionalProperties: false },
    ...(summary ? { description: summary } : {}),
    takesContext,
  };
}
