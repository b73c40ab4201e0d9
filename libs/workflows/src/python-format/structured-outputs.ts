// The Python runtime's structured outputs: `models` of typed fields and a `registry` of which agent
// answers with which model, turned into one JSON Schema per agent.
import { TYPE_ALIASES, isObject, same } from './shape.js';
import type { Adapted, Json, Note, Path } from './shape.js';

/** A model field type of the Python runtime's structured outputs, as JSON Schema. */
function fieldSchema(spec: unknown, models: Json, at: Path, problems: Note[], used: Set<string>): Json {
  const typeName = isObject(spec) ? spec.type : spec;
  const description = isObject(spec) && typeof spec.description === 'string' ? { description: spec.description } : {};
  const of = (t: unknown, where: Path): Json => fieldSchema(t, models, where, problems, used);
  if (typeof typeName !== 'string') {
    problems.push({
      field: at,
      message:
        "a field needs a type (str, int, float, bool, dict, list, optional_list, literal, union or a model's name)",
    });
    return {};
  }
  const primitive = TYPE_ALIASES[typeName.toLowerCase()];
  if (typeName === 'null' || typeName === 'None') return { type: 'null', ...description };
  if (typeName === 'any' || typeName === 'Any') return { ...description };
  if (typeName === 'list' || typeName === 'optional_list') {
    const items = isObject(spec) && spec.items !== undefined ? of(spec.items, [...at, 'items']) : {};
    const array = { type: 'array', items };
    return typeName === 'list' ? { ...array, ...description } : { anyOf: [array, { type: 'null' }], ...description };
  }
  if (typeName === 'literal') {
    const values = isObject(spec) && Array.isArray(spec.values) ? spec.values : undefined;
    if (!values?.length)
      problems.push({ field: [...at, 'values'], message: 'a literal field needs values: the list of allowed values' });
    return { enum: values ?? [], ...description };
  }
  if (typeName === 'union' || typeName === 'optional') {
    const variants =
      isObject(spec) && Array.isArray(spec.variants)
        ? spec.variants
        : isObject(spec) && spec.items !== undefined
          ? [spec.items, 'null']
          : undefined;
    if (!variants?.length)
      problems.push({
        field: [...at, 'variants'],
        message: `a ${typeName} field needs variants: the types it may take`,
      });
    return { anyOf: (variants ?? []).map((v, i) => of(v, [...at, 'variants', i])), ...description };
  }
  if (typeName === 'dict' || typeName === 'object') return { type: 'object', ...description };
  if (primitive) return { type: primitive, ...description };
  if (typeName in models) {
    used.add(typeName);
    return { $ref: `#/$defs/${typeName}`, ...description };
  }
  problems.push({
    field: [...at, ...(isObject(spec) ? ['type'] : [])],
    message: `unknown type "${typeName}": use str, int, float, bool, dict, list, optional_list, literal, union or the name of a model in structured_outputs.models`,
  });
  return {};
}

/** One model of the Python runtime's structured outputs as a JSON Schema object. */
function modelSchema(name: string, models: Json, problems: Note[], used: Set<string>): Json {
  const model = models[name];
  const at: Path = ['structured_outputs', 'models', name];
  if (!isObject(model) || !isObject(model.fields)) {
    problems.push({ field: at, message: 'a model needs fields: a mapping of field name to its type' });
    return { type: 'object' };
  }
  const properties: Json = {};
  const required: string[] = [];
  for (const [field, spec] of Object.entries(model.fields)) {
    properties[field] = fieldSchema(spec, models, [...at, 'fields', field], problems, used);
    const optional =
      isObject(spec) &&
      ('default' in spec || spec.required === false || spec.type === 'optional_list' || spec.type === 'optional');
    if (!optional) required.push(field);
  }
  return {
    type: 'object',
    ...(typeof model.description === 'string' ? { description: model.description } : {}),
    properties,
    required,
  };
}

/** The schema of model `name` with every model it refers to, as `$defs`. */
export function modelToJsonSchema(name: string, models: Json): Json {
  const used = new Set<string>();
  const root = modelSchema(name, models, [], used);
  const defs: Json = {};
  const pending = [...used];
  while (pending.length) {
    const next = pending.pop()!;
    if (next in defs || next === name) continue;
    const more = new Set<string>();
    defs[next] = modelSchema(next, models, [], more);
    pending.push(...[...more].filter((m) => !(m in defs)));
  }
  if (used.has(name)) defs[name] = modelSchema(name, models, [], new Set());
  return Object.keys(defs).length ? { ...root, $defs: defs } : root;
}

export function adaptStructuredOutputs(raw: unknown): Adapted {
  const warnings: Note[] = [];
  const problems: Note[] = [];
  if (!isObject(raw) || !(isObject(raw.structured_outputs) || 'registry' in raw))
    return { value: raw, warnings, problems, toDocument: same };
  const section = isObject(raw.structured_outputs) ? raw.structured_outputs : {};
  const models = isObject(section.models) ? section.models : {};
  // The registry sits beside `models` in some folders and at the top in others.
  const registryAt: Path = isObject(section.registry) ? ['structured_outputs', 'registry'] : ['registry'];
  const registry = isObject(section.registry) ? section.registry : isObject(raw.registry) ? raw.registry : {};
  // Every model is checked, used or not; the schemas are then built without repeating the findings.
  for (const name of Object.keys(models)) modelSchema(name, models, problems, new Set());
  const outputs: Json[] = [];
  const origin: string[] = [];
  for (const [agent, model] of Object.entries(registry)) {
    if (model === null || model === undefined) continue;
    if (typeof model !== 'string' || !(model in models)) {
      problems.push({
        field: [...registryAt, agent],
        message: `${JSON.stringify(model)} is not a model in structured_outputs.models`,
      });
      continue;
    }
    outputs.push({
      agent,
      name: model.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64),
      schema: modelToJsonSchema(model, models),
    });
    origin.push(agent);
  }
  const toDocument = (field: Path): Path =>
    field[0] === 'structured_outputs' && typeof field[1] === 'number' ? [...registryAt, origin[field[1]] ?? ''] : field;
  return { value: { structured_outputs: outputs }, warnings, problems, toDocument };
}
