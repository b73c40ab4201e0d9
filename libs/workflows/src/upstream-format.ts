// Workflow folders written for the Python MozaiksAI runtime, read as they are. Each of its files is
// reshaped into this runtime's form before validation; what has no effect here becomes a warning
// placed in the file, and what cannot be honoured becomes a problem that says what to do instead.
import { reservedToolEnv } from './workflow-definition.js';

type Path = (string | number)[];

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

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const same = (field: Path) => field;

/** Whether any of a folder's documents is in the Python runtime's shape. */
export function isUpstreamShaped(documents: Partial<Record<string, unknown>>, hasUpstreamFiles: boolean): boolean {
  if (hasUpstreamFiles) return true;
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
  const upstreamTool = (t: unknown) => isObject(t) && ('auto_invoke' in t || (isObject(t.ui) && 'mode' in t.ui));
  if (
    isObject(tools) &&
    ['tools', 'lifecycle_tools'].some(
      (key) => Array.isArray(tools[key]) && (tools[key] as unknown[]).some(upstreamTool),
    )
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
function dropNulls(entry: Json, keys: readonly string[]): void {
  for (const key of keys) if (key in entry && entry[key] === null) delete entry[key];
}

export function adaptOrchestrator(raw: unknown): Adapted {
  const warnings: Note[] = [];
  if (!isObject(raw)) return { value: raw, warnings, problems: [], toDocument: same };
  const value = { ...raw };
  dropNulls(value, ['initial_message', 'initial_message_to_user', 'initial_agent', 'description']);
  if ('entry_point' in value) {
    warnings.push({
      field: [],
      key: 'entry_point',
      message:
        "has no effect here: a workflow is started by the id in the launch token; which one opens first is the frontend's choice",
    });
    delete value.entry_point;
  }
  if ('initial_message_to_user' in value) {
    warnings.push({
      field: [],
      key: 'initial_message_to_user',
      message: 'is not shown here; have the initial agent say it (initial_message tells the agent what to open with)',
    });
    delete value.initial_message_to_user;
  }
  return { value, warnings, problems: [], toDocument: same };
}

/** Heading order of the Python runtime's fixed prompt sections. */
const SECTION_ORDER = [
  'role',
  'objective',
  'context',
  'runtime_integrations',
  'guidelines',
  'instructions',
  'examples',
  'json_output_compliance',
  'output_format',
];

/** An agent's system message from its prompt sections: each heading over its content, a blank line between sections. */
export function joinPromptSections(sections: unknown): string | undefined {
  const list = Array.isArray(sections)
    ? sections
    : isObject(sections)
      ? [
          ...SECTION_ORDER.filter((k) => k in sections),
          ...Object.keys(sections).filter((k) => !SECTION_ORDER.includes(k)),
        ].map((k) => sections[k])
      : undefined;
  if (!list) return undefined;
  const parts = list.flatMap((section) => {
    if (!isObject(section)) return typeof section === 'string' && section.trim() ? [section.trim()] : [];
    const heading = typeof section.heading === 'string' ? section.heading.trim() : '';
    const content =
      section.content === undefined || section.content === null
        ? ''
        : (typeof section.content === 'string' ? section.content : JSON.stringify(section.content)).trim();
    const text = heading && content ? `${heading}\n${content}` : heading || content;
    return text ? [text] : [];
  });
  return parts.length ? parts.join('\n\n') : undefined;
}

/** The agents of an agents document as written (a list, or a mapping keyed by name), each with its path. */
function agentEntries(raw: unknown): Array<{ entry: unknown; name: unknown; at: Path }> {
  if (!isObject(raw)) return [];
  if (isObject(raw.agents))
    return Object.entries(raw.agents).map(([name, entry]) => ({ entry, name, at: ['agents', name] }));
  return Array.isArray(raw.agents)
    ? (raw.agents as unknown[]).map((entry, i) => ({
        entry,
        name: isObject(entry) ? entry.name : undefined,
        at: ['agents', i],
      }))
    : [];
}

/** Agents marked `structured_outputs_required: true`, with where the mark is. */
export function requiredStructuredOutputs(raw: unknown): Array<{ name: string; at: Path }> {
  return agentEntries(raw).flatMap(({ entry, name, at }) =>
    isObject(entry) && entry.structured_outputs_required === true && typeof name === 'string' ? [{ name, at }] : [],
  );
}

export function adaptAgents(raw: unknown): Adapted {
  const warnings: Note[] = [];
  if (!isObject(raw)) return { value: raw, warnings, problems: [], toDocument: same };
  // Agents keyed by name: the list's index i stands for the i-th key.
  const keyed = isObject(raw.agents);
  const listed = agentEntries(raw);
  const fromSections = new Set<number>();
  const agents = listed.map(({ entry, name, at }, i) => {
    if (!isObject(entry)) return entry;
    const agent: Json = keyed ? { name, ...entry } : { ...entry };
    const sectionsKey =
      'prompt_sections' in agent && agent.prompt_sections
        ? 'prompt_sections'
        : 'prompt_sections_custom' in agent
          ? 'prompt_sections_custom'
          : undefined;
    if (sectionsKey) {
      const joined = joinPromptSections(agent[sectionsKey]);
      if (agent.system_message === undefined && joined !== undefined) {
        agent.system_message = joined;
        fromSections.add(i);
      } else if (agent.system_message !== undefined) {
        warnings.push({
          field: at,
          key: sectionsKey,
          message: 'is ignored: the agent has a system_message too (give one or the other)',
        });
      }
    }
    delete agent.prompt_sections;
    delete agent.prompt_sections_custom;
    // Checked against the structured outputs by the loader (requiredStructuredOutputs).
    delete agent.structured_outputs_required;
    dropNulls(agent, ['role', 'class', 'llm_config', 'max_consecutive_auto_reply', 'description', 'auto_tool_mode']);
    return agent;
  });
  const value = { ...raw, agents };
  const toDocument = (field: Path): Path => {
    if (field[0] !== 'agents' || typeof field[1] !== 'number') return field;
    const i = field[1];
    const head = listed[i]?.at ?? ['agents', i];
    if (field[2] === 'name' && keyed) return head;
    if (field[2] === 'system_message' && fromSections.has(i)) return [...head, 'prompt_sections'];
    return [...head, ...field.slice(2)];
  };
  return { value, warnings, problems: [], toDocument };
}

export function adaptTools(raw: unknown): Adapted {
  const warnings: Note[] = [];
  if (!isObject(raw)) return { value: raw, warnings, problems: [], toDocument: same };
  const value: Json = { ...raw };
  if (Array.isArray(value.tools)) {
    value.tools = (value.tools as unknown[]).map((entry) => {
      if (!isObject(entry)) return entry;
      const tool = { ...entry };
      dropNulls(tool, ['name', 'parameters', 'timeout_seconds', 'env', 'ui', 'auto_invoke']);
      if (isObject(tool.ui)) {
        const ui: Json = { ...tool.ui };
        if ('mode' in ui) {
          ui.display = ui.mode;
          delete ui.mode;
        }
        dropNulls(ui, ['display', 'component']);
        tool.ui = ui;
        // An agent tool with an empty ui block (component: null) shows nothing.
        if (ui.component === undefined && Object.keys(ui).every((k) => k === 'display')) delete tool.ui;
      }
      return tool;
    });
  }
  // `ui.display` is written `ui.mode` there.
  const writtenUi = (i: unknown): Json | undefined => {
    const tool: unknown = Array.isArray(raw.tools) && typeof i === 'number' ? (raw.tools as unknown[])[i] : undefined;
    return isObject(tool) && isObject(tool.ui) ? tool.ui : undefined;
  };
  const toDocument = (field: Path): Path =>
    field[0] === 'tools' &&
    field[2] === 'ui' &&
    field[3] === 'display' &&
    writtenUi(field[1]) &&
    'mode' in writtenUi(field[1])!
      ? [...field.slice(0, 3), 'mode', ...field.slice(4)]
      : field;
  return { value, warnings, problems: [], toDocument };
}

const TRANSITION_TARGETS: Record<string, (target: string) => boolean> = {
  AgentTarget: (t) => t !== 'user' && t !== 'terminate',
  RevertToUserTarget: (t) => t === 'user',
  TerminateTarget: (t) => t === 'terminate',
};

export function adaptHandoffs(raw: unknown): Adapted {
  const warnings: Note[] = [];
  const problems: Note[] = [];
  if (!isObject(raw) || !Array.isArray(raw.handoff_rules)) return { value: raw, warnings, problems, toDocument: same };
  const rules = (raw.handoff_rules as unknown[]).map((entry, i) => {
    if (!isObject(entry)) return entry;
    const rule = { ...entry };
    const at: Path = ['handoff_rules', i];
    dropNulls(rule, ['condition', 'condition_type', 'condition_scope', 'transition_target']);
    if (rule.condition_type === 'string_llm') rule.condition_type = 'llm';
    if (rule.condition_type === 'string_context' || rule.condition_type === 'context')
      rule.condition_type = 'expression';
    if (rule.handoff_type === 'after_work') delete rule.condition_type;
    if ('transition_target' in rule) {
      const kind = rule.transition_target;
      const fits = typeof kind === 'string' ? TRANSITION_TARGETS[kind] : undefined;
      if (!fits)
        problems.push({
          field: [...at, 'transition_target'],
          message: `${JSON.stringify(kind)} is not supported: use AgentTarget, RevertToUserTarget or TerminateTarget`,
        });
      else if (typeof rule.target_agent === 'string' && !fits(rule.target_agent)) {
        problems.push({
          field: [...at, 'transition_target'],
          message: `${String(kind)} does not match target_agent "${rule.target_agent}" (RevertToUserTarget goes with user, TerminateTarget with terminate, AgentTarget with an agent)`,
        });
      }
      delete rule.transition_target;
    }
    if ('condition_scope' in rule) {
      if (rule.condition_scope === 'pre' && rule.source_agent !== 'user') {
        warnings.push({
          field: at,
          key: 'condition_scope',
          message:
            "has no effect: an agent's conditions are checked when its turn ends, with the variables as they are then",
        });
      }
      delete rule.condition_scope;
    }
    return rule;
  });
  return { value: { ...raw, handoff_rules: rules }, warnings, problems, toDocument: same };
}

const TYPE_ALIASES: Record<string, string> = {
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
/** Sources the runtime sets from the file alone. */
const PLAIN_SOURCES = ['static', 'runtime', 'computed', 'state', 'config', 'derived'];
/** Parts of a variable name that mark a secret, which never goes into a prompt. */
const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|CREDS|_URI$|_URL$/i;

export function adaptContextVariables(raw: unknown): Adapted {
  const warnings: Note[] = [];
  const problems: Note[] = [];
  if (!isObject(raw)) return { value: raw, warnings, problems, toDocument: same };
  // Variables keyed by name under context_variables, as some folders write them.
  const listKey =
    'definitions' in raw ? 'definitions' : isObject(raw.context_variables) ? 'context_variables' : undefined;
  if (!listKey) return { value: raw, warnings, problems, toDocument: same };
  const keyed = isObject(raw[listKey]);
  const keys = keyed ? Object.keys(raw[listKey] as Json) : [];
  const definitions: unknown[] = keyed
    ? keys.map((name) => ({ name, ...((raw[listKey] as Json)[name] as Json) }))
    : Array.isArray(raw[listKey])
      ? raw[listKey]
      : [];
  const docIndex = (i: number): string | number => (keyed ? keys[i]! : i);
  const variables = definitions.map((entry, i) => {
    if (!isObject(entry)) return entry;
    const at: Path = [listKey, docIndex(i)];
    const { source, type, ...rest } = entry;
    const variable: Json = { ...rest };
    dropNulls(variable, ['description']);
    if (typeof type === 'string') variable.type = TYPE_ALIASES[type.toLowerCase()] ?? type;
    if (!isObject(source)) {
      if (source !== undefined)
        problems.push({
          field: [...at, 'source'],
          message: 'must be a mapping with a type (config, static, computed, state, …)',
        });
      return variable;
    }
    const { type: kind, default: initial, env_var, triggers, transitions, ...other } = source;
    if (initial !== undefined) variable.default = initial;
    if (variable.type === undefined)
      variable.type =
        typeof initial === 'boolean'
          ? 'boolean'
          : typeof initial === 'number'
            ? Number.isInteger(initial)
              ? 'integer'
              : 'number'
            : Array.isArray(initial)
              ? 'array'
              : isObject(initial)
                ? 'object'
                : 'string';
    const sourceAt: Path = [...at, 'source'];
    if (kind === 'config') {
      if (typeof env_var !== 'string')
        problems.push({
          field: sourceAt,
          message: 'a config variable needs env_var: the environment variable it is read from',
        });
      else if (SECRET_NAME.test(env_var) || reservedToolEnv(env_var)?.includes('interpreter'))
        problems.push({
          field: [...sourceAt, 'env_var'],
          message: `${env_var} looks like a secret or a setting of the runtime, and context variables are shown to the model; give the value to a tool through tools.yaml env instead`,
        });
      else variable.env_var = env_var;
    } else if (typeof kind === 'string' && !PLAIN_SOURCES.includes(kind)) {
      warnings.push({
        field: sourceAt,
        key: 'type',
        message: `source "${kind}" is not read here: the variable starts as its default (${JSON.stringify(initial ?? null)}); load the data in a tool that sets it through context_variables`,
      });
    } else if (typeof kind !== 'string') {
      problems.push({ field: sourceAt, message: 'needs a type: config, static, computed or state' });
    }
    if (Array.isArray(triggers) && triggers.length) {
      variable.triggers = (triggers as unknown[]).map((t) => {
        if (!isObject(t)) return t;
        const trigger: Json = { ...t };
        // The Python runtime also accepts the match keys beside `match`.
        if (!isObject(trigger.match) && trigger.type === 'agent_text') {
          trigger.match = Object.fromEntries(
            ['equals', 'contains', 'regex'].filter((k) => typeof t[k] === 'string').map((k) => [k, t[k]]),
          );
          for (const k of ['equals', 'contains', 'regex']) delete trigger[k];
        }
        if (isObject(trigger.match)) {
          const match = { ...trigger.match };
          dropNulls(match, ['equals', 'contains', 'regex']);
          trigger.match = match;
        }
        dropNulls(trigger, ['ui_hidden', 'agent']);
        return trigger;
      });
    }
    if (Array.isArray(transitions) && transitions.length)
      warnings.push({
        field: sourceAt,
        key: 'transitions',
        message: 'are not run here: set the variable with triggers or from a tool',
      });
    for (const key of Object.keys(other)) {
      if (kind === 'config' || PLAIN_SOURCES.includes(String(kind)))
        warnings.push({ field: sourceAt, key, message: 'has no effect here' });
    }
    return variable;
  });
  // Per-agent exposure: a list of {agent_name, variables} or a mapping of agent to {variables}.
  let agents: Json | undefined;
  const agentDoc: Record<string, Path> = {};
  if (Array.isArray(raw.agents)) {
    agents = {};
    raw.agents.forEach((a, i) => {
      if (isObject(a) && typeof a.agent_name === 'string') {
        agents![a.agent_name] = Array.isArray(a.variables) ? a.variables : [];
        agentDoc[a.agent_name] = ['agents', i, 'variables'];
      } else problems.push({ field: ['agents', i], message: 'must be {agent_name, variables}' });
    });
  } else if (isObject(raw.agents)) {
    agents = {};
    for (const [name, view] of Object.entries(raw.agents)) {
      agents[name] = isObject(view) && Array.isArray(view.variables) ? view.variables : Array.isArray(view) ? view : [];
      agentDoc[name] = ['agents', name, ...(isObject(view) ? ['variables'] : [])];
    }
  }
  const { definitions: _d, agents: _a, context_variables: _c, ...others } = raw;
  const value: Json = { ...others, context_variables: variables, ...(agents ? { agents } : {}) };
  const toDocument = (field: Path): Path => {
    if (field[0] === 'context_variables' && typeof field[1] === 'number') {
      const head: Path = [listKey, docIndex(field[1])];
      const rest = field.slice(2);
      if (rest[0] === 'name' && keyed) return head;
      const sourced = isObject((definitions[field[1]] as Json | undefined)?.source);
      if (sourced && (rest[0] === 'default' || rest[0] === 'env_var' || rest[0] === 'triggers'))
        return [...head, 'source', ...rest];
      return [...head, ...rest];
    }
    if (field[0] === 'agents' && typeof field[1] === 'string' && agentDoc[field[1]])
      return [...agentDoc[field[1]]!, ...field.slice(2)];
    return field;
  };
  return { value, warnings, problems, toDocument };
}

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
