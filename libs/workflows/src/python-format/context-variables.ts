// The Python runtime's context variables: definitions keyed by name with a `source`
// (config, static, computed, state, …) and per-agent exposure lists.
import { reservedToolEnv } from '../tool-env.js';
import { TYPE_ALIASES, dropNulls, isObject, same } from './shape.js';
import type { Adapted, Json, Note, Path } from './shape.js';

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
      ? (raw[listKey] as unknown[])
      : [];
  const docIndex = (i: number): string | number => (keyed ? keys[i]! : i);
  const variables = definitions.map((entry, i) =>
    isObject(entry) ? readVariable(entry, [listKey, docIndex(i)], warnings, problems) : entry,
  );
  const { agents, agentDoc } = readExposure(raw, problems);
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

/** One variable of the Python form (a definition with its `source`), in this runtime's form. */
function readVariable(entry: Json, at: Path, warnings: Note[], problems: Note[]): Json {
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
  variable.type ??= typeOfValue(initial);
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
  if (Array.isArray(triggers) && triggers.length) variable.triggers = (triggers as unknown[]).map(readTrigger);
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
}

/** The type of a variable the Python form leaves untyped, from its default. */
function typeOfValue(initial: unknown): string {
  if (typeof initial === 'boolean') return 'boolean';
  if (typeof initial === 'number') return Number.isInteger(initial) ? 'integer' : 'number';
  if (Array.isArray(initial)) return 'array';
  return isObject(initial) ? 'object' : 'string';
}

/** A trigger with its match keys under `match` (the Python runtime also accepts them beside it), nulls dropped. */
function readTrigger(t: unknown): unknown {
  if (!isObject(t)) return t;
  const trigger: Json = { ...t };
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
}

/** Per-agent exposure: a list of {agent_name, variables} or a mapping of agent to {variables}; with where each list stands. */
function readExposure(raw: Json, problems: Note[]): { agents: Json | undefined; agentDoc: Record<string, Path> } {
  const agentDoc: Record<string, Path> = {};
  if (Array.isArray(raw.agents)) {
    const agents: Json = {};
    (raw.agents as unknown[]).forEach((a, i) => {
      if (isObject(a) && typeof a.agent_name === 'string') {
        agents[a.agent_name] = Array.isArray(a.variables) ? a.variables : [];
        agentDoc[a.agent_name] = ['agents', i, 'variables'];
      } else problems.push({ field: ['agents', i], message: 'must be {agent_name, variables}' });
    });
    return { agents, agentDoc };
  }
  if (!isObject(raw.agents)) return { agents: undefined, agentDoc };
  const agents: Json = {};
  for (const [name, view] of Object.entries(raw.agents)) {
    agents[name] = isObject(view) && Array.isArray(view.variables) ? view.variables : Array.isArray(view) ? view : [];
    agentDoc[name] = ['agents', name, ...(isObject(view) ? ['variables'] : [])];
  }
  return { agents, agentDoc };
}
