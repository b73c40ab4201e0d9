// Loads `workflows/<id>/` (orchestrator.yaml, agents.yaml, tools.yaml) into one WorkflowDefinition,
// collecting every problem with the file, field, line and column it is in.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type * as YamlLib from 'yaml';
import type { Document } from 'yaml';

/** The YAML parser, loaded with the first workflow read (a service that reads none never loads it). */
let yamlLib: typeof YamlLib | undefined;
function yaml(): typeof YamlLib {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (yamlLib ??= require('yaml') as typeof YamlLib);
}
import { z } from 'zod';
import { ErrorCode, ID_PATTERN, RuntimeError } from '@mozaiks/protocol';
import { ExpressionError, expressionVariables, parseExpression } from './condition-expression.js';
import { AGENT_CLASS_EXTENSIONS, AgentsFile, matchesVariableType, ContextVariablesFile, HandoffsFile, OrchestratorFile, SPECIAL_TARGETS, StructuredOutputsFile, TOOL_FILE_EXTENSIONS, ToolEnv, ToolsFile } from './workflow-definition.js';
import { compileSchema } from './structured-output.js';
import type { AgentDefinition, ContextVariableDefinition, HandoffRule, ToolDefinition, WorkflowDefinition } from './workflow-definition.js';

/** One thing wrong with a workflow, located as precisely as the files allow. */
export interface WorkflowProblem {
  /** Path of the file, relative to the workflows folder (`onboarding_flow/agents.yaml`). */
  file: string;
  /** The field, as a dotted path (`agents.1.system_message`); empty for the file as a whole. */
  field: string;
  line: number;
  column: number;
  message: string;
}

/** The single file of a workflow in the JSON form (the guide's `config.json`). */
export const JSON_FORM_FILE = 'config.json';

/** Every file a workflow folder may hold: the YAML form's files, then the JSON form's. */
export const WORKFLOW_FILE_NAMES = [
  'orchestrator.yaml', 'agents.yaml', 'tools.yaml', 'context_variables.yaml', 'handoffs.yaml', 'structured_outputs.yaml', JSON_FORM_FILE,
] as const;

/** Formats a problem as `file:line:column: field: message`. */
export function formatProblem(p: WorkflowProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

export class WorkflowNotFoundError extends RuntimeError {
  override name = 'WorkflowNotFoundError';
  constructor(readonly workflowId: string, dir: string) {
    super(ErrorCode.WorkflowNotFound, `workflow "${workflowId}" not found: no folder ${dir} with an orchestrator.yaml`);
  }
}

export class WorkflowValidationError extends RuntimeError {
  override name = 'WorkflowValidationError';
  constructor(readonly workflowId: string, readonly problems: WorkflowProblem[]) {
    super(
      ErrorCode.WorkflowInvalid,
      `workflow "${workflowId}" is invalid:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
    );
  }
}

interface ParsedFile<T> {
  value?: T;
  problems: WorkflowProblem[];
}

/** Reads one YAML file and validates it, mapping each zod issue back to its place in the file. */
type Locate = (field: (string | number)[]) => { line: number; column: number };

interface ReadDocument {
  value: unknown;
  locate: Locate;
  locateKey: (parent: (string | number)[], key: string) => { line: number; column: number };
  problems: WorkflowProblem[];
}

/** Reads a YAML (or JSON) file keeping positions; a missing or unreadable file is a problem. */
function readDocument(root: string, relative: string): ReadDocument | undefined {
  const full = path.join(root, relative);
  if (!existsSync(full)) return undefined;
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(full, 'utf8'), { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const noPosition = () => ({ line: 1, column: 1 });
  if (doc.errors.length > 0) {
    return {
      value: undefined,
      locate: noPosition,
      locateKey: noPosition,
      problems: doc.errors.map((e) => ({ file: relative, field: '', ...at(e.pos[0]), message: `${relative.endsWith('.json') ? 'JSON' : 'YAML'} syntax: ${e.message.split('\n')[0]}` })),
    };
  }
  return {
    value: doc.toJS() ?? {},
    locate: (field) => at(offsetOf(doc, field)),
    locateKey: (parent, key) => at(keyOffset(doc, parent, key) ?? offsetOf(doc, parent)),
    problems: [],
  };
}

/** Validates `value` (a document or a part of one) against `schema`, placing each issue in `relative`. */
function validatePart<S extends z.ZodType>(
  relative: string,
  read: ReadDocument,
  schema: S,
  value: unknown,
  /** Maps a field path of `value` to the document's own path (for parts reshaped from the JSON form). */
  toDocument: (field: (string | number)[]) => (string | number)[] = (field) => field,
): ParsedFile<z.infer<S>> & { locate: Locate } {
  const locate: Locate = (field) => read.locate(toDocument(field));
  const parsed = schema.safeParse(value);
  if (parsed.success) return { value: parsed.data, problems: [], locate };
  return {
    problems: parsed.error.issues.map((issue) => {
      const at = issue.path as (string | number)[];
      if (issue.code === 'unrecognized_keys') {
        const key = issue.keys[0]!;
        return { file: relative, field: [...at, key].join('.'), ...read.locateKey(toDocument(at), key), message: `unknown field${issue.keys.length > 1 ? `s ${issue.keys.map((k) => `"${k}"`).join(', ')}` : ''}` };
      }
      return { file: relative, field: toDocument(at).join('.'), ...locate(at), message: issue.message };
    }),
    locate,
  };
}

/** Reads one YAML file and validates it, mapping each zod issue back to its place in the file. */
function parseFile<S extends z.ZodType>(
  root: string,
  relative: string,
  schema: S,
  options: { optional?: boolean } = {},
): ParsedFile<z.infer<S>> & { locate: Locate } {
  const noPosition = () => ({ line: 1, column: 1 });
  const read = readDocument(root, relative);
  if (!read) {
    if (options.optional) return { value: schema.parse({}), problems: [], locate: noPosition };
    return { problems: [{ file: relative, field: '', line: 1, column: 1, message: 'file is missing' }], locate: noPosition };
  }
  if (read.problems.length) return { problems: read.problems, locate: noPosition };
  return validatePart(relative, read, schema, read.value);
}

const JsonToolEntry = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"'),
  /** `module.function`: the function in `module.py` (or .js, .mjs, .cjs, .ts) of the workflow folder. */
  implementation: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_./-]*\.[A-Za-z_$][A-Za-z0-9_$]*$/, 'must be "module.function", such as stubs.query_database'),
  description: z.string().min(1),
  parameters: z.looseObject({ type: z.literal('object') }).optional(),
  /** The agent that may call it; every agent when unset. */
  agent: z.string().optional(),
  tool_type: z.enum(['Agent_Tool', 'UI_Tool']).optional(),
  timeout_seconds: z.number().positive().optional(),
  env: ToolEnv.optional(),
});

/** The JSON form's parts, each validated as its YAML file would be, all placed in config.json. */
function parseJsonForm(root: string, workflowId: string, relative: string) {
  const read = readDocument(root, relative)!;
  const nothing = <T>(problems: WorkflowProblem[] = []): ParsedFile<T> & { locate: Locate } => ({ problems, locate: () => ({ line: 1, column: 1 }) });
  if (read.problems.length) {
    return {
      orchestrator: nothing<z.infer<typeof OrchestratorFile>>(read.problems),
      agentsFile: nothing<z.infer<typeof AgentsFile>>(),
      toolsFile: nothing<z.infer<typeof ToolsFile>>(),
      variablesFile: nothing<z.infer<typeof ContextVariablesFile>>(),
      handoffsFile: nothing<z.infer<typeof HandoffsFile>>(),
      outputsFile: nothing<z.infer<typeof StructuredOutputsFile>>(),
      parts: [] as WorkflowProblem[],
    };
  }
  const json = (typeof read.value === 'object' && read.value !== null && !Array.isArray(read.value) ? read.value : {}) as Record<string, unknown>;
  const problems: WorkflowProblem[] = [];
  const orchestratorKeys = Object.keys(OrchestratorFile.shape);
  const partKeys = ['agents', 'tools', 'context_variables', 'handoff_rules', 'structured_outputs'];
  for (const key of Object.keys(json)) {
    if (!orchestratorKeys.includes(key) && !partKeys.includes(key)) problems.push({ file: relative, field: key, ...read.locateKey([], key), message: 'unknown field' });
  }
  const orchestrator = validatePart(relative, read, OrchestratorFile, {
    workflow_name: workflowId,
    ...Object.fromEntries(Object.entries(json).filter(([k]) => orchestratorKeys.includes(k))),
  });
  const agentsFile = validatePart(relative, read, AgentsFile, { agents: json.agents });
  const agentNames = (agentsFile.value?.agents ?? []).map((a) => a.name);

  // Tools: `implementation` names a module and a function; a tool with no agent serves every agent.
  const rawTools = json.tools === undefined ? [] : json.tools;
  const jsonTools = validatePart(relative, read, z.array(JsonToolEntry), rawTools, (field) => ['tools', ...field]);
  problems.push(...jsonTools.problems);
  const converted: Record<string, unknown>[] = [];
  const origin: number[] = [];
  (jsonTools.value ?? []).forEach((t, i) => {
    const dot = t.implementation.lastIndexOf('.');
    const module = t.implementation.slice(0, dot);
    const file = TOOL_FILE_EXTENSIONS.map((ext) => `${module}${ext}`).find((f) => existsSync(path.join(root, workflowId, f)));
    if (!file) {
      problems.push({ file: relative, field: `tools.${i}.implementation`, ...read.locate(['tools', i, 'implementation']), message: `no file ${module}${TOOL_FILE_EXTENSIONS.join(`, ${module}`)} in ${workflowId}/` });
      return;
    }
    for (const agent of t.agent ? [t.agent] : agentNames) {
      converted.push({
        agent, file, function: t.implementation.slice(dot + 1), name: t.name, description: t.description,
        ...(t.parameters ? { parameters: t.parameters } : {}), ...(t.tool_type ? { tool_type: t.tool_type } : {}), ...(t.timeout_seconds ? { timeout_seconds: t.timeout_seconds } : {}),
        ...(t.env ? { env: t.env } : {}),
      });
      origin.push(i);
    }
  });
  const toolsFile = validatePart(relative, read, ToolsFile, { tools: converted }, (field) =>
    field[0] === 'tools' && typeof field[1] === 'number'
      ? ['tools', origin[field[1]] ?? field[1], ...(field[2] === 'file' || field[2] === 'function' ? ['implementation'] : field[2] === undefined ? [] : [field[2]])]
      : field,
  );
  const part = <S extends z.ZodType>(key: string, schema: S) => validatePart(relative, read, schema, { [key]: json[key] ?? [] });
  return {
    orchestrator,
    agentsFile,
    toolsFile,
    variablesFile: part('context_variables', ContextVariablesFile),
    handoffsFile: part('handoff_rules', HandoffsFile),
    outputsFile: part('structured_outputs', StructuredOutputsFile),
    parts: problems,
  };
}

/** Offset of the key `key` in the mapping at `parent`, if there is one. */
function keyOffset(doc: Document, parent: (string | number)[], key: string): number | undefined {
  const map = parent.length ? doc.getIn(parent, true) : doc.contents;
  const { isMap, isNode, isScalar } = yaml();
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return isNode(pair?.key) ? pair.key.range?.[0] : undefined;
}

/** Offset of the deepest node on `field` that exists: a missing key points at its parent. */
function offsetOf(doc: Document, field: (string | number)[]): number {
  const { isNode } = yaml();
  for (let depth = field.length; depth > 0; depth--) {
    const node = doc.getIn(field.slice(0, depth), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return isNode(doc.contents) && doc.contents.range ? doc.contents.range[0] : 0;
}

/**
 * Loads and validates the workflow `workflowId` from `workflowsDir`.
 * @throws WorkflowNotFoundError when there is no such folder.
 * @throws WorkflowValidationError listing every problem.
 */
export function loadWorkflow(workflowsDir: string, workflowId: string): WorkflowDefinition {
  const root = path.resolve(workflowsDir);
  const dir = path.join(root, workflowId);
  const yamlForm = existsSync(path.join(dir, 'orchestrator.yaml'));
  const jsonForm = !yamlForm && existsSync(path.join(dir, JSON_FORM_FILE));
  if (!ID_PATTERN.test(workflowId) || !(yamlForm || jsonForm)) {
    throw new WorkflowNotFoundError(workflowId, dir);
  }
  const rel = (name: string) => path.join(workflowId, jsonForm ? JSON_FORM_FILE : name);
  const json = jsonForm ? parseJsonForm(root, workflowId, rel(JSON_FORM_FILE)) : undefined;
  const orchestrator = json ? json.orchestrator : parseFile(root, rel('orchestrator.yaml'), OrchestratorFile);
  const agentsFile = json ? json.agentsFile : parseFile(root, rel('agents.yaml'), AgentsFile);
  const toolsFile = json ? json.toolsFile : parseFile(root, rel('tools.yaml'), ToolsFile, { optional: true });
  const variablesFile = json ? json.variablesFile : parseFile(root, rel('context_variables.yaml'), ContextVariablesFile, { optional: true });
  const handoffsFile = json ? json.handoffsFile : parseFile(root, rel('handoffs.yaml'), HandoffsFile, { optional: true });
  const outputsFile = json ? json.outputsFile : parseFile(root, rel('structured_outputs.yaml'), StructuredOutputsFile, { optional: true });
  const problems = [
    ...orchestrator.problems, ...(json?.parts ?? []), ...agentsFile.problems, ...toolsFile.problems, ...variablesFile.problems, ...handoffsFile.problems, ...outputsFile.problems,
  ];

  const agents: AgentDefinition[] = [];
  const seen = new Set<string>();
  agentsFile.value?.agents.forEach((a, i) => {
    if (seen.has(a.name)) {
      problems.push({ file: rel('agents.yaml'), field: `agents.${i}.name`, ...agentsFile.locate(['agents', i, 'name']), message: `duplicate agent name "${a.name}"` });
    }
    seen.add(a.name);
    let agentClass: AgentDefinition['class'];
    if (a.class) {
      const dot = a.class.lastIndexOf('.');
      const module = a.class.slice(0, dot);
      const file = AGENT_CLASS_EXTENSIONS.map((ext) => `${module}${ext}`).find((f) => existsSync(path.join(dir, f)));
      if (file) agentClass = { file, export: a.class.slice(dot + 1) };
      else problems.push({ file: rel('agents.yaml'), field: `agents.${i}.class`, ...agentsFile.locate(['agents', i, 'class']), message: `no file ${AGENT_CLASS_EXTENSIONS.map((ext) => `${module}${ext}`).join(', ')} in ${workflowId}/` });
    }
    agents.push({ name: a.name, ...(agentClass ? { class: agentClass } : {}), ...(a.role ? { role: a.role } : {}), system_message: a.system_message, llm_config: a.llm_config ?? {}, tools: [] });
  });

  const tools: ToolDefinition[] = [];
  toolsFile.value?.tools.forEach((t, i) => {
    const problem = (field: string, message: string) =>
      problems.push({ file: rel('tools.yaml'), field: `tools.${i}.${field}`, ...toolsFile.locate(['tools', i, field]), message });
    const tool: ToolDefinition = {
      name: t.name ?? t.function,
      agent: t.agent,
      file: t.file,
      function: t.function,
      description: t.description,
      tool_type: t.tool_type,
      parameters: t.parameters ?? { type: 'object', properties: {}, additionalProperties: true },
      ...(t.timeout_seconds ? { timeout_seconds: t.timeout_seconds } : {}),
      env: t.env ?? [],
    };
    const agent = agents.find((a) => a.name === t.agent);
    if (agentsFile.value && !agent) problem('agent', `no agent named "${t.agent}" in agents.yaml`);
    const file = path.join(dir, t.file);
    if (!existsSync(file) || !statSync(file).isFile()) problem('file', `tool file ${t.file} not found in ${workflowId}/`);
    if (agent?.tools.some((other) => other.name === tool.name)) problem(t.name ? 'name' : 'function', `agent "${t.agent}" already has a tool named "${tool.name}"`);
    agent?.tools.push(tool);
    tools.push(tool);
  });

  const o = orchestrator.value;
  if (o?.initial_agent && agentsFile.value && !agents.some((a) => a.name === o.initial_agent)) {
    problems.push({ file: rel('orchestrator.yaml'), field: 'initial_agent', ...orchestrator.locate(['initial_agent']), message: `no agent named "${o.initial_agent}" in agents.yaml` });
  }
  const isTarget = (t: string) => (SPECIAL_TARGETS as readonly string[]).includes(t) || agents.some((a) => a.name === t);
  const targetMessage = (t: string) => `no agent named "${t}" in agents.yaml (or use ${SPECIAL_TARGETS.join(' or ')})`;
  if (o?.after_work && agentsFile.value && !isTarget(o.after_work)) {
    problems.push({ file: rel('orchestrator.yaml'), field: 'after_work', ...orchestrator.locate(['after_work']), message: targetMessage(o.after_work) });
  }

  outputsFile.value?.structured_outputs.forEach((o, i) => {
    const problem = (field: string, message: string) =>
      problems.push({ file: rel('structured_outputs.yaml'), field: `structured_outputs.${i}.${field}`, ...outputsFile.locate(['structured_outputs', i, field]), message });
    const agent = agents.find((a) => a.name === o.agent);
    if (agentsFile.value && !agent) return problem('agent', `no agent named "${o.agent}" in agents.yaml`);
    if (agent?.structured_output) return problem('agent', `agent "${o.agent}" already has a structured output`);
    const compiled = compileSchema(o.schema);
    if (typeof compiled === 'string') return problem('schema', compiled);
    if (agent) agent.structured_output = { name: o.name ?? `${o.agent}_output`, schema: o.schema, check: compiled };
  });

  const variables: ContextVariableDefinition[] = [];
  variablesFile.value?.context_variables.forEach((v, i) => {
    if (variables.some((other) => other.name === v.name)) {
      problems.push({ file: rel('context_variables.yaml'), field: `context_variables.${i}.name`, ...variablesFile.locate(['context_variables', i, 'name']), message: `duplicate variable "${v.name}"` });
    }
    if (v.default !== undefined && !matchesVariableType(v.default, v.type)) {
      problems.push({ file: rel('context_variables.yaml'), field: `context_variables.${i}.default`, ...variablesFile.locate(['context_variables', i, 'default']), message: `must be of type ${v.type}` });
    }
    variables.push({ name: v.name, type: v.type, default: v.default ?? null, ...(v.description ? { description: v.description } : {}) });
  });

  const handoffs: HandoffRule[] = [];
  handoffsFile.value?.handoff_rules.forEach((h, i) => {
    const problem = (field: string, message: string) =>
      problems.push({ file: rel('handoffs.yaml'), field: `handoff_rules.${i}.${field}`, ...handoffsFile.locate(['handoff_rules', i, field]), message });
    if (agentsFile.value && !agents.some((a) => a.name === h.source_agent)) problem('source_agent', `no agent named "${h.source_agent}" in agents.yaml`);
    if (agentsFile.value && !isTarget(h.target_agent)) problem('target_agent', targetMessage(h.target_agent));
    if (h.handoff_type === 'after_work') {
      handoffs.push({ source_agent: h.source_agent, target: h.target_agent, kind: 'after_work' });
      return;
    }
    if (!h.condition) return problem('condition', 'a condition rule needs a condition');
    if (!h.condition_type) return problem('condition_type', 'a condition rule needs condition_type: expression or llm');
    if (h.condition_type === 'llm') {
      handoffs.push({ source_agent: h.source_agent, target: h.target_agent, kind: 'llm', condition: h.condition });
      return;
    }
    try {
      const expression = parseExpression(h.condition);
      const unknown = expressionVariables(expression).filter((name) => !variables.some((v) => v.name === name));
      if (unknown.length) problem('condition', `unknown context variable(s) ${unknown.map((n) => `"${n}"`).join(', ')}; declare them in context_variables.yaml`);
      else handoffs.push({ source_agent: h.source_agent, target: h.target_agent, kind: 'expression', condition: h.condition, expression });
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      problem('condition', error.message);
    }
  });
  if (problems.length > 0 || !o) throw new WorkflowValidationError(workflowId, problems);

  return {
    id: workflowId,
    dir,
    name: o.workflow_name,
    ...(o.description ? { description: o.description } : {}),
    max_turns: o.max_turns,
    max_consecutive_auto_reply: o.max_consecutive_auto_reply,
    human_in_the_loop: o.human_in_the_loop,
    startup_mode: o.startup_mode,
    orchestration_pattern: o.orchestration_pattern,
    initial_agent: o.initial_agent ?? agents[0]!.name,
    ...(o.initial_message ? { initial_message: o.initial_message } : {}),
    termination_marker: o.termination_marker,
    ...(o.after_work ? { after_work: o.after_work } : {}),
    agents,
    tools,
    context_variables: variables,
    handoffs,
  };
}
