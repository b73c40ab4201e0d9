// Loads `workflows/<id>/` into one WorkflowDefinition, collecting every problem with the file,
// field, line and column it is in. A folder is read in this runtime's form (orchestrator.yaml,
// agents.yaml, …, or the single config.json) or in the Python MozaiksAI runtime's form, which is
// reshaped first (upstream-format.ts). Every entry is checked on its own and references between
// files are checked with whatever entries are valid, so one pass reports every problem.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type * as YamlLib from 'yaml';
import type { Document } from 'yaml';
import { z } from 'zod';
import { ErrorCode, ID_PATTERN, RuntimeError } from '@mozaiks/protocol';
import { ExpressionError, expressionVariables, parseExpression } from './condition-expression.js';
import {
  AGENT_CLASS_EXTENSIONS,
  AgentEntry,
  ContextVariableEntry,
  HOOK_TYPES,
  HandoffEntry,
  HookEntry,
  LifecycleToolEntry,
  OrchestratorFile,
  SPECIAL_TARGETS,
  StructuredOutputEntry,
  TOOL_FILE_EXTENSIONS,
  ToolEntry,
  ToolEnv,
  matchesVariableType,
} from './workflow-definition.js';
import type {
  AgentDefinition,
  ContextVariableDefinition,
  HandoffRule,
  HookDefinition,
  LifecycleToolDefinition,
  ToolDefinition,
  WorkflowDefinition,
  WorkflowProblem,
} from './workflow-definition.js';
import { compileSchema } from './structured-output.js';
import { readPythonSignature } from './python-signature.js';
import { readScriptSignature } from './script-signature.js';
import {
  adaptAgents,
  adaptContextVariables,
  adaptHandoffs,
  adaptOrchestrator,
  adaptStructuredOutputs,
  adaptTools,
  isUpstreamShaped,
  requiredStructuredOutputs,
} from './upstream-format.js';
import type { Adapted, Note } from './upstream-format.js';

/** The YAML parser, loaded with the first workflow read (a service that reads none never loads it). */
let yamlLib: typeof YamlLib | undefined;
function yaml(): typeof YamlLib {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (yamlLib ??= require('yaml') as typeof YamlLib);
}

export type { WorkflowProblem } from './workflow-definition.js';

export interface LoadOptions {
  /** Warnings (keys with no effect, unknown keys of a Python-runtime folder) are problems. */
  strict?: boolean;
}

/** The single file of a workflow in the JSON form (the guide's `config.json`). */
export const JSON_FORM_FILE = 'config.json';

/** The files of the multi-file form, each as YAML or JSON. */
const FILE_KINDS = ['orchestrator', 'agents', 'tools', 'context_variables', 'handoffs', 'structured_outputs'] as const;
type FileKind = (typeof FILE_KINDS)[number];
const EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
/** Files of the Python runtime's form that configure what this runtime does not run. */
const UPSTREAM_EXTRAS = ['hooks.yaml', 'ui_config.yaml'] as const;

/** Every file a workflow folder may hold: the multi-file form's files in each spelling, the extras, then the JSON form's. */
export const WORKFLOW_FILE_NAMES = [
  ...FILE_KINDS.flatMap((kind) => EXTENSIONS.map((ext) => `${kind}${ext}`)),
  ...UPSTREAM_EXTRAS,
  JSON_FORM_FILE,
] as const;

/** Whether `dir` holds a workflow (any form). */
export function isWorkflowFolder(dir: string): boolean {
  return (
    EXTENSIONS.some((ext) => existsSync(path.join(dir, `orchestrator${ext}`))) ||
    existsSync(path.join(dir, JSON_FORM_FILE)) ||
    EXTENSIONS.some((ext) => existsSync(path.join(dir, `agents${ext}`)))
  );
}

/** Formats a problem as `file:line:column: field: message`. */
export function formatProblem(p: WorkflowProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

export class WorkflowNotFoundError extends RuntimeError {
  override name = 'WorkflowNotFoundError';
  constructor(
    readonly workflowId: string,
    dir: string,
  ) {
    super(ErrorCode.WorkflowNotFound, `workflow "${workflowId}" not found: no folder ${dir} with an orchestrator.yaml`);
  }
}

export class WorkflowValidationError extends RuntimeError {
  override name = 'WorkflowValidationError';
  constructor(
    readonly workflowId: string,
    readonly problems: WorkflowProblem[],
    readonly warnings: WorkflowProblem[] = [],
  ) {
    super(
      ErrorCode.WorkflowInvalid,
      `workflow "${workflowId}" is invalid:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
    );
  }
}

type Path = (string | number)[];
type Locate = (field: Path) => { line: number; column: number };

interface ReadDocument {
  value: unknown;
  locate: Locate;
  locateKey: (parent: Path, key: string) => { line: number; column: number };
  problems: WorkflowProblem[];
}

const noPosition = () => ({ line: 1, column: 1 });

/** Reads a YAML (or JSON) file keeping positions; a file with a syntax error has problems and no value. */
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
  if (doc.errors.length > 0) {
    return {
      value: undefined,
      locate: noPosition,
      locateKey: noPosition,
      problems: doc.errors.map((e) => ({
        file: relative,
        field: '',
        ...at(e.pos[0]),
        message: `${relative.endsWith('.json') ? 'JSON' : 'YAML'} syntax: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  return {
    value: doc.toJS() ?? {},
    locate: (field) => at(offsetOf(doc, field)),
    locateKey: (parent, key) => at(keyOffset(doc, parent, key) ?? offsetOf(doc, parent)),
    problems: [],
  };
}

/** Offset of the key `key` in the mapping at `parent`, if there is one. */
function keyOffset(doc: Document, parent: Path, key: string): number | undefined {
  const map = parent.length ? doc.getIn(parent, true) : doc.contents;
  const { isMap, isNode, isScalar } = yaml();
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return isNode(pair?.key) ? pair.key.range?.[0] : undefined;
}

/** Offset of the deepest node on `field` that exists: a missing key points at its parent. */
function offsetOf(doc: Document, field: Path): number {
  const { isNode } = yaml();
  for (let depth = field.length; depth > 0; depth--) {
    const node = doc.getIn(field.slice(0, depth), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return isNode(doc.contents) && doc.contents.range ? doc.contents.range[0] : 0;
}

/** A value as a problem message quotes it: short, one line. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A zod issue's message, with the refused value when there was one. */
function issueMessage(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  if (input === undefined && issue.code === 'invalid_type') return 'is required';
  if (input === undefined || typeof input === 'object' || (typeof input === 'string' && issue.message.includes(input)))
    return issue.message;
  return `${issue.message} (got ${quote(input)})`;
}

/**
 * One source of a part of the workflow: the file it is placed in, its document, the value to
 * validate (reshaped or not) and the way from the value's paths to the document's.
 */
interface Source {
  relative: string;
  read: ReadDocument;
  value: unknown;
  toDocument: (field: Path) => Path;
}

/** What validating a source found: its valid parts, with where each came from. */
class Checked {
  readonly problems: WorkflowProblem[] = [];
  readonly warnings: WorkflowProblem[] = [];
  constructor(readonly source: Source | undefined) {}

  get relative(): string {
    return this.source?.relative ?? '';
  }

  locate(field: Path): { line: number; column: number } {
    return this.source ? this.source.read.locate(this.source.toDocument(field)) : noPosition();
  }

  problem(field: Path, message: string): void {
    this.problems.push({
      file: this.relative,
      field: (this.source?.toDocument(field) ?? field).join('.'),
      ...this.locate(field),
      message,
    });
  }

  /**
   * A broken reference the Python runtime passes over (a tool bound to no agent, a missing tool
   * file): in a folder of its form read leniently, a warning and the entry is skipped.
   */
  skip(field: Path, message: string, lenient: boolean): void {
    if (!lenient) return this.problem(field, message);
    this.warnings.push({
      file: this.relative,
      field: (this.source?.toDocument(field) ?? field).join('.'),
      ...this.locate(field),
      message: `${message}; skipped, as the Python runtime does (--strict refuses it)`,
    });
  }

  /** Places notes the adapter made on the document as written. */
  note(notes: Note[], into: WorkflowProblem[]): void {
    if (!this.source) return;
    for (const n of notes) {
      const where = n.key === undefined ? this.source.read.locate(n.field) : this.source.read.locateKey(n.field, n.key);
      into.push({
        file: this.relative,
        field: [...n.field, ...(n.key === undefined ? [] : [n.key])].join('.'),
        ...where,
        message: n.message,
      });
    }
  }

  /**
   * Parses `value` with `schema`. Unknown keys are removed with a warning when `lenient`;
   * otherwise every issue is a problem at its place, and undefined is returned.
   */
  parse<S extends z.ZodType>(schema: S, value: unknown, at: Path, lenient: boolean): z.infer<S> | undefined {
    let current = value;
    for (let attempt = 0; attempt < 20; attempt++) {
      const parsed = schema.safeParse(current, { reportInput: true });
      if (parsed.success) return parsed.data;
      const unknownKeys = parsed.error.issues.filter((i) => i.code === 'unrecognized_keys');
      if (lenient && unknownKeys.length) {
        current = structuredClone(current);
        for (const issue of unknownKeys) {
          const field = [...at, ...(issue.path as Path)];
          const holder = (issue.path as Path).reduce<unknown>(
            (o, k) => (o as Record<string | number, unknown>)?.[k],
            current,
          ) as Record<string, unknown>;
          for (const key of issue.keys) {
            delete holder[key];
            const doc = this.source!.toDocument(field);
            this.warnings.push({
              file: this.relative,
              field: [...doc, key].join('.'),
              ...this.source!.read.locateKey(doc, key),
              message: 'unknown field, ignored (mozaiks validate --strict refuses it)',
            });
          }
        }
        continue;
      }
      for (const issue of parsed.error.issues) {
        const field = [...at, ...(issue.path as Path)];
        if (issue.code === 'unrecognized_keys') {
          const doc = this.source!.toDocument(field);
          this.problems.push({
            file: this.relative,
            field: [...doc, issue.keys[0]!].join('.'),
            ...this.source!.read.locateKey(doc, issue.keys[0]!),
            message: `unknown field${issue.keys.length > 1 ? `s ${issue.keys.map((k) => `"${k}"`).join(', ')}` : ''}`,
          });
        } else this.problem(field, issueMessage(issue));
      }
      return undefined;
    }
    return undefined;
  }

  /** Keys at the top of the document other than `allowed`: problems, or warnings when lenient. */
  topLevel(allowed: readonly string[], lenient: boolean): void {
    const doc = this.source?.value;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return;
    for (const key of Object.keys(doc)) {
      if (allowed.includes(key)) continue;
      const doc = this.source!.toDocument([]);
      const where = this.source!.read.locateKey(doc, key);
      if (lenient)
        this.warnings.push({
          file: this.relative,
          field: key,
          ...where,
          message: 'unknown field, ignored (mozaiks validate --strict refuses it)',
        });
      else
        this.problems.push({
          file: this.relative,
          field: key,
          ...where,
          message: `unknown field; expected ${allowed.join(' or ')}`,
        });
    }
  }

  /** The entries of list `key` of the document, each validated alone: the valid ones, with their index. */
  entries<S extends z.ZodType>(
    key: string,
    entry: S,
    lenient: boolean,
    options: { min?: string } = {},
  ): Array<{ i: number; value: z.infer<S> }> {
    const doc = this.source?.value;
    if (doc === undefined) return [];
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      this.problem([], 'must be a mapping');
      return [];
    }
    const list = (doc as Record<string, unknown>)[key];
    if (list === undefined || list === null) {
      if (options.min) this.problem([key], options.min);
      return [];
    }
    if (!Array.isArray(list)) {
      this.problem([key], `must be a list (got ${quote(list)})`);
      return [];
    }
    if (options.min && list.length === 0) this.problem([key], options.min);
    return list.flatMap((item, i) => {
      const value = this.parse(entry, item, [key, i], lenient);
      return value === undefined ? [] : [{ i, value }];
    });
  }
}

const JsonToolEntry = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"'),
  /** `module.function`: the function in `module.py` (or .js, .mjs, .cjs, .ts) of the workflow folder. */
  implementation: z
    .string()
    .regex(
      /^[A-Za-z0-9_][A-Za-z0-9_./-]*\.[A-Za-z_$][A-Za-z0-9_$]*$/,
      'must be "module.function", such as stubs.query_database',
    ),
  description: z.string().min(1),
  parameters: z.looseObject({ type: z.literal('object') }).optional(),
  /** The agent that may call it; every agent when unset. */
  agent: z.string().optional(),
  tool_type: z.enum(['Agent_Tool', 'UI_Tool']).optional(),
  timeout_seconds: z.number().positive().optional(),
  env: ToolEnv.optional(),
});

const ORCHESTRATOR_KEYS = Object.keys(OrchestratorFile.shape);
const JSON_PART_KEYS = ['agents', 'tools', 'context_variables', 'handoff_rules', 'structured_outputs'];

/** The JSON form's parts as sources, all placed in config.json; its tools are rewritten to the YAML form's. */
function jsonFormSources(
  root: string,
  workflowId: string,
  relative: string,
  problems: WorkflowProblem[],
): Partial<Record<FileKind, Source>> {
  const read = readDocument(root, relative)!;
  if (read.problems.length) {
    problems.push(...read.problems);
    return {};
  }
  const json = (
    typeof read.value === 'object' && read.value !== null && !Array.isArray(read.value) ? read.value : {}
  ) as Record<string, unknown>;
  for (const key of Object.keys(json)) {
    if (!ORCHESTRATOR_KEYS.includes(key) && !JSON_PART_KEYS.includes(key))
      problems.push({ file: relative, field: key, ...read.locateKey([], key), message: 'unknown field' });
  }
  const part = (value: unknown, toDocument: (field: Path) => Path = (f) => f): Source => ({
    relative,
    read,
    value,
    toDocument,
  });

  // Tools: `implementation` names a module and a function; a tool with no agent serves every agent.
  const agentNames = namesIn(json.agents);
  const toolCheck = new Checked(part({ tools: json.tools ?? [] }));
  const converted: Record<string, unknown>[] = [];
  const origin: number[] = [];
  for (const { i, value: t } of toolCheck.entries('tools', JsonToolEntry, false)) {
    const dot = t.implementation.lastIndexOf('.');
    const module = t.implementation.slice(0, dot);
    const file = TOOL_FILE_EXTENSIONS.map((ext) => `${module}${ext}`).find((f) =>
      existsSync(path.join(root, workflowId, f)),
    );
    if (!file) {
      toolCheck.problem(
        ['tools', i, 'implementation'],
        `no file ${module}${TOOL_FILE_EXTENSIONS.join(`, ${module}`)} in ${workflowId}/`,
      );
      continue;
    }
    for (const agent of t.agent ? [t.agent] : agentNames) {
      converted.push({
        agent,
        file,
        function: t.implementation.slice(dot + 1),
        name: t.name,
        description: t.description,
        ...(t.parameters ? { parameters: t.parameters } : {}),
        ...(t.tool_type ? { tool_type: t.tool_type } : {}),
        ...(t.timeout_seconds ? { timeout_seconds: t.timeout_seconds } : {}),
        ...(t.env ? { env: t.env } : {}),
      });
      origin.push(i);
    }
  }
  problems.push(...toolCheck.problems);
  return {
    orchestrator: part({
      workflow_name: workflowId,
      ...Object.fromEntries(Object.entries(json).filter(([k]) => ORCHESTRATOR_KEYS.includes(k))),
    }),
    agents: part({ agents: json.agents }),
    tools: part({ tools: converted }, (field) =>
      field[0] === 'tools' && typeof field[1] === 'number'
        ? [
            'tools',
            origin[field[1]] ?? field[1],
            ...(field[2] === 'file' || field[2] === 'function' ? ['implementation'] : field.slice(2)),
          ]
        : field,
    ),
    context_variables: part({ context_variables: json.context_variables ?? [] }),
    handoffs: part({ handoff_rules: json.handoff_rules ?? [] }),
    structured_outputs: part({ structured_outputs: json.structured_outputs ?? [] }),
  };
}

/** A path inside the folder: the name as given, else under `tools/` (where the Python runtime keeps them). */
function findInFolder(dir: string, file: string): string | undefined {
  return [file, path.join('tools', file)].find((f) => {
    const full = path.join(dir, f);
    return existsSync(full) && statSync(full).isFile();
  });
}

/**
 * Loads and validates the workflow `workflowId` from `workflowsDir`.
 * @throws WorkflowNotFoundError when there is no such folder.
 * @throws WorkflowValidationError listing every problem.
 */
export function loadWorkflow(workflowsDir: string, workflowId: string, options: LoadOptions = {}): WorkflowDefinition {
  const root = path.resolve(workflowsDir);
  const dir = path.join(root, workflowId);
  if (!ID_PATTERN.test(workflowId) || !isWorkflowFolder(dir)) throw new WorkflowNotFoundError(workflowId, dir);
  const jsonForm =
    existsSync(path.join(dir, JSON_FORM_FILE)) &&
    !EXTENSIONS.some((ext) => existsSync(path.join(dir, `orchestrator${ext}`)));
  const problems: WorkflowProblem[] = [];
  const warnings: WorkflowProblem[] = [];
  const fileOf = (kind: FileKind) => {
    if (jsonForm) return path.join(workflowId, JSON_FORM_FILE);
    const found = EXTENSIONS.map((ext) => `${kind}${ext}`).find((f) => existsSync(path.join(dir, f)));
    return path.join(workflowId, found ?? `${kind}.yaml`);
  };

  // Read every file first: whether the folder is in the Python runtime's form decides how strictly it is read.
  const sources: Partial<Record<FileKind, Source>> = {};
  if (jsonForm) Object.assign(sources, jsonFormSources(root, workflowId, fileOf('orchestrator'), problems));
  else {
    for (const kind of FILE_KINDS) {
      const relative = fileOf(kind);
      const read = readDocument(root, relative);
      if (!read) {
        // A folder of the Python runtime's form may leave out the orchestrator; every folder needs agents.
        if (kind === 'agents')
          problems.push({ file: relative, field: '', line: 1, column: 1, message: 'file is missing' });
        continue;
      }
      if (read.problems.length) problems.push(...read.problems);
      else sources[kind] = { relative, read, value: read.value, toDocument: (f) => f };
    }
  }
  const extras = UPSTREAM_EXTRAS.filter((f) => existsSync(path.join(dir, f)));
  const hasPack = existsSync(path.join(dir, '_pack'));
  const upstream = isUpstreamShaped(
    Object.fromEntries(Object.entries(sources).map(([k, s]) => [k, s.value])),
    extras.length > 0 || hasPack,
  );
  if (!jsonForm && !sources.orchestrator && !upstream && !problems.some((p) => p.file === fileOf('orchestrator'))) {
    problems.push({ file: fileOf('orchestrator'), field: '', line: 1, column: 1, message: 'file is missing' });
  }
  const lenient = upstream && !options.strict;

  // Reshape the Python runtime's form; its notes are placed in the files as written.
  const checked = {} as Record<FileKind, Checked>;
  const adapters: Record<FileKind, (raw: unknown) => Adapted> = {
    orchestrator: adaptOrchestrator,
    agents: adaptAgents,
    tools: adaptTools,
    context_variables: adaptContextVariables,
    handoffs: adaptHandoffs,
    structured_outputs: adaptStructuredOutputs,
  };
  for (const kind of FILE_KINDS) {
    const source = sources[kind];
    if (!source || jsonForm) {
      checked[kind] = new Checked(source);
      continue;
    }
    const adapted = adapters[kind](source.value);
    const reshaped: Source = { ...source, value: adapted.value, toDocument: adapted.toDocument };
    const check = new Checked(reshaped);
    check.note(adapted.warnings, options.strict ? check.problems : check.warnings);
    check.note(adapted.problems, check.problems);
    checked[kind] = check;
  }

  const TOP_LEVEL: Record<Exclude<FileKind, 'orchestrator'>, string[]> = {
    agents: ['agents'],
    tools: ['tools', 'lifecycle_tools'],
    context_variables: ['context_variables', 'agents'],
    handoffs: ['handoff_rules'],
    structured_outputs: ['structured_outputs'],
  };
  if (!jsonForm)
    for (const [kind, allowed] of Object.entries(TOP_LEVEL)) checked[kind as FileKind].topLevel(allowed, lenient);

  // orchestrator: the folder's name stands for an unset workflow_name.
  const orchestratorCheck = checked.orchestrator;
  let orchestratorValue = orchestratorCheck.source?.value ?? {};
  if (typeof orchestratorValue === 'object' && orchestratorValue !== null && !Array.isArray(orchestratorValue)) {
    // The Python runtime's pattern, when a folder of its form names none, is AutoPattern.
    orchestratorValue = {
      workflow_name: workflowId,
      ...(upstream ? { orchestration_pattern: 'AutoPattern' } : {}),
      ...orchestratorValue,
    };
  }
  let o = orchestratorCheck.source
    ? orchestratorCheck.parse(OrchestratorFile, orchestratorValue, [], lenient)
    : OrchestratorFile.parse({
        workflow_name: workflowId,
        ...(upstream ? { orchestration_pattern: 'AutoPattern' } : {}),
      });
  if (!o && typeof orchestratorValue === 'object' && orchestratorValue !== null) {
    // The rest of the checks go on with the defaults in place of the refused settings.
    const valid = Object.fromEntries(
      Object.entries(orchestratorValue).filter(
        ([k, v]) => OrchestratorFile.shape[k as keyof typeof OrchestratorFile.shape]?.safeParse(v).success,
      ),
    );
    o = OrchestratorFile.safeParse({ workflow_name: workflowId, ...valid }).data;
  }

  // agents: every entry's name counts for references, even an entry with other problems.
  const agentsCheck = checked.agents;
  const rawAgents = (agentsCheck.source?.value as { agents?: unknown } | undefined)?.agents;
  const namedAgents = new Set(namesIn(rawAgents));
  const agentsKnown = agentsCheck.source !== undefined;
  const agentsFile = agentsCheck.relative;
  const agents: AgentDefinition[] = [];
  const autoAgents: Array<{ name: string; i: number }> = [];
  for (const { i, value: a } of agentsCheck.entries('agents', AgentEntry, lenient, {
    min: 'a workflow needs at least one agent',
  })) {
    if (agents.some((other) => other.name === a.name))
      agentsCheck.problem(['agents', i, 'name'], `duplicate agent name "${a.name}"`);
    let agentClass: AgentDefinition['class'];
    if (a.class) {
      const dot = a.class.lastIndexOf('.');
      const module = a.class.slice(0, dot);
      const file = AGENT_CLASS_EXTENSIONS.map((ext) => `${module}${ext}`).find((f) => existsSync(path.join(dir, f)));
      if (file) agentClass = { file, export: a.class.slice(dot + 1) };
      else
        agentsCheck.problem(
          ['agents', i, 'class'],
          `no file ${AGENT_CLASS_EXTENSIONS.map((ext) => `${module}${ext}`).join(', ')} in ${workflowId}/`,
        );
    }
    agents.push({
      name: a.name,
      ...(agentClass ? { class: agentClass } : {}),
      ...(a.role ? { role: a.role } : {}),
      system_message: a.system_message,
      llm_config: a.llm_config ?? {},
      tools: [],
      ...(a.max_consecutive_auto_reply ? { max_consecutive_auto_reply: a.max_consecutive_auto_reply } : {}),
    });
    if (a.auto_tool_mode) autoAgents.push({ name: a.name, i });
  }
  const isAgent = (name: string) => namedAgents.has(name);
  const noAgent = (name: string) => `no agent named "${name}" in ${path.basename(agentsFile || 'agents.yaml')}`;
  const isTarget = (t: string) => (SPECIAL_TARGETS as readonly string[]).includes(t) || isAgent(t);
  const targetMessage = (t: string) => `${noAgent(t)} (or use ${SPECIAL_TARGETS.join(' or ')})`;

  /**
   * What a tool function's source says of it: a Python function's signature and docstring (a
   * missing function is a problem), a JavaScript or TypeScript function's declared argument type
   * and doc comment (when the parser finds it; a file may export in ways only running it shows).
   */
  const toolSignature = (
    file: string,
    name: string,
    problem: (field: string, message: string) => void,
    declared = false,
  ): { parameters?: Record<string, unknown>; description?: string; takesContext?: boolean } | undefined => {
    // A script tool whose schema and description are written out is not parsed (nor the parser loaded).
    if (!file.endsWith('.py') && declared) return undefined;
    const source = readFileSync(path.join(dir, file), 'utf8');
    if (!file.endsWith('.py')) return readScriptSignature(source, file, name);
    const signature = readPythonSignature(source, name);
    if (!signature) problem('function', `${file} has no top-level function "${name}"`);
    return signature;
  };

  // tools
  const toolsCheck = checked.tools;
  const tools: ToolDefinition[] = [];
  for (const { i, value: t } of toolsCheck.entries('tools', ToolEntry, lenient)) {
    const problem = (field: string, message: string) => toolsCheck.problem(['tools', i, field], message);
    const file = findInFolder(dir, t.file);
    const unbound = agentsKnown && !isAgent(t.agent);
    if (lenient && (!file || unbound)) {
      if (unbound) toolsCheck.skip(['tools', i, 'agent'], noAgent(t.agent), true);
      else
        toolsCheck.skip(
          ['tools', i, 'file'],
          `tool file ${t.file} not found in ${workflowId}/ or ${workflowId}/tools/`,
          true,
        );
      continue;
    }
    const signature = file
      ? toolSignature(file, t.function, problem, t.parameters !== undefined && t.description !== undefined)
      : (problem('file', `tool file ${t.file} not found in ${workflowId}/ or ${workflowId}/tools/`), undefined);
    const description = t.description ?? signature?.description;
    if (!description) problem('description', 'is required (or give the function a docstring, or a doc comment)');
    if (t.tool_type === 'UI_Tool' && !t.ui)
      problem('tool_type', 'a UI_Tool needs ui: {component, display}: what the client shows');
    const tool: ToolDefinition = {
      name: t.name ?? t.function,
      agent: t.agent,
      file: file ?? t.file,
      function: t.function,
      description: description ?? '',
      tool_type: t.tool_type,
      parameters: t.parameters ??
        signature?.parameters ?? { type: 'object', properties: {}, additionalProperties: true },
      ...(t.timeout_seconds ? { timeout_seconds: t.timeout_seconds } : {}),
      env: t.env ?? [],
      ...(t.ui ? { ui: t.ui } : {}),
      ...(signature?.takesContext ? { takes_context: true } : {}),
      ...((t.auto_invoke ?? t.tool_type === 'UI_Tool') ? { auto_invoke: true } : {}),
    };
    const agent = agents.find((a) => a.name === t.agent);
    if (agentsKnown && !isAgent(t.agent)) problem('agent', noAgent(t.agent));
    if (agent?.tools.some((other) => other.name === tool.name))
      problem(t.name ? 'name' : 'function', `agent "${t.agent}" already has a tool named "${tool.name}"`);
    agent?.tools.push(tool);
    tools.push(tool);
  }

  // lifecycle tools: called by the runtime at points of the chat, like any tool in the tool-runner.
  const lifecycle: LifecycleToolDefinition[] = [];
  for (const { i, value: t } of toolsCheck.entries('lifecycle_tools', LifecycleToolEntry, lenient)) {
    const problem = (field: string, message: string) => toolsCheck.problem(['lifecycle_tools', i, field], message);
    if (t.tool_type === 'UI_Tool') {
      toolsCheck.skip(
        ['lifecycle_tools', i, 'tool_type'],
        'a lifecycle tool runs without the user here: only Agent_Tool (show a UI tool from an agent instead)',
        lenient,
      );
      continue;
    }
    const file = findInFolder(dir, t.file);
    if (!file) {
      toolsCheck.skip(
        ['lifecycle_tools', i, 'file'],
        `tool file ${t.file} not found in ${workflowId}/ or ${workflowId}/tools/`,
        lenient,
      );
      continue;
    }
    const agent = t.agent ?? undefined;
    if (agent !== undefined && (t.trigger === 'before_chat' || t.trigger === 'after_chat'))
      problem('agent', `a ${t.trigger} tool runs once for the chat: leave agent unset`);
    else if (agent !== undefined && agentsKnown && !isAgent(agent)) problem('agent', noAgent(agent));
    let missing = false;
    const signature = toolSignature(
      file,
      t.function,
      (field, message) => ((missing = true), toolsCheck.skip(['lifecycle_tools', i, field], message, lenient)),
      true,
    );
    if (missing) continue;
    lifecycle.push({
      trigger: t.trigger,
      ...(agent !== undefined ? { agent } : {}),
      tool: {
        name: t.function,
        agent: agent ?? '',
        file,
        function: t.function,
        description: t.description ?? signature?.description ?? t.function,
        tool_type: 'Agent_Tool',
        parameters: { type: 'object', properties: {} },
        ...(t.timeout_seconds ? { timeout_seconds: t.timeout_seconds } : {}),
        env: t.env ?? [],
        ...(signature?.takesContext ? { takes_context: true } : {}),
      },
    });
  }

  if (o?.initial_agent && agentsKnown && !isAgent(o.initial_agent))
    orchestratorCheck.problem(['initial_agent'], noAgent(o.initial_agent));
  if (o?.after_work && agentsKnown && !isTarget(o.after_work))
    orchestratorCheck.problem(['after_work'], targetMessage(o.after_work));

  // structured outputs
  const outputsCheck = checked.structured_outputs;
  for (const { i, value: out } of outputsCheck.entries('structured_outputs', StructuredOutputEntry, lenient)) {
    const problem = (field: string, message: string) => outputsCheck.problem(['structured_outputs', i, field], message);
    const agent = agents.find((a) => a.name === out.agent);
    if (agentsKnown && !isAgent(out.agent)) {
      problem('agent', noAgent(out.agent));
      continue;
    }
    if (agent?.structured_output) {
      problem('agent', `agent "${out.agent}" already has a structured output`);
      continue;
    }
    const compiled = compileSchema(out.schema);
    if (typeof compiled === 'string') problem('schema', compiled);
    else if (agent)
      agent.structured_output = { name: out.name ?? `${out.agent}_output`, schema: out.schema, check: compiled };
  }
  for (const { name, at } of jsonForm ? [] : requiredStructuredOutputs(sources.agents?.value)) {
    const agent = agents.find((a) => a.name === name);
    if (agent && !agent.structured_output) {
      const where = agentsCheck.source!.read.locateKey(at, 'structured_outputs_required');
      (options.strict ? problems : warnings).push({
        file: agentsFile,
        field: [...at, 'structured_outputs_required'].join('.'),
        ...where,
        message: `has no effect: structured_outputs.yaml's registry gives ${name} no model`,
      });
    }
  }

  // auto_tool_mode: the agent's structured output goes to its one auto_invoke tool.
  for (const { name, i } of autoAgents) {
    const agent = agents.find((a) => a.name === name)!;
    const candidates = agent.tools.filter((t) => t.auto_invoke);
    const unmet = !agent.structured_output
      ? `agent ${name} has no structured output to pass to a tool: give it one in structured_outputs, or remove auto_tool_mode`
      : candidates.length === 0
        ? `agent ${name} has no tool with auto_invoke: true (a UI_Tool has it unless set false): give it one, or remove auto_tool_mode`
        : candidates.length > 1
          ? `agent ${name} has ${candidates.length} tools with auto_invoke (${candidates.map((t) => t.name).join(', ')}): keep it on one`
          : undefined;
    if (!unmet) agent.auto_tool = candidates[0]!;
    else if (!lenient) agentsCheck.problem(['agents', i, 'auto_tool_mode'], unmet);
    else
      agentsCheck.note(
        [
          {
            field: agentsCheck.source!.toDocument(['agents', i]),
            key: 'auto_tool_mode',
            message: `has no effect: ${unmet}`,
          },
        ],
        warnings,
      );
  }

  // context variables
  const variablesCheck = checked.context_variables;
  const variables: ContextVariableDefinition[] = [];
  const variableEntries = variablesCheck.entries('context_variables', ContextVariableEntry, lenient);
  const rawVariables = (variablesCheck.source?.value as { context_variables?: unknown } | undefined)?.context_variables;
  const namedVariables = new Set(namesIn(rawVariables));
  for (const { i, value: v } of variableEntries) {
    const problem = (field: Path, message: string) =>
      variablesCheck.problem(['context_variables', i, ...field], message);
    if (variables.some((other) => other.name === v.name)) problem(['name'], `duplicate variable "${v.name}"`);
    if (v.default !== undefined && !matchesVariableType(v.default, v.type))
      problem(['default'], `must be of type ${v.type} (got ${quote(v.default)})`);
    v.triggers?.forEach((t, j) => {
      if (t.type === 'agent_text' && agentsKnown && !isAgent(t.agent))
        problem(['triggers', j, 'agent'], noAgent(t.agent));
      if (t.type === 'agent_text' && t.match.regex !== undefined) {
        try {
          new RegExp(t.match.regex);
        } catch (error) {
          problem(['triggers', j, 'match', 'regex'], `not a regular expression: ${(error as Error).message}`);
        }
      }
      if (t.type === 'agent_text' && v.type !== 'boolean')
        problem(['triggers', j], 'an agent_text trigger sets the variable to true: its type must be boolean');
      if (t.type === 'ui_response' && !tools.some((tool) => tool.name === t.tool))
        problem(['triggers', j, 'tool'], `no tool named "${t.tool}" in tools.yaml`);
    });
    variables.push({
      name: v.name,
      type: v.type,
      default: v.default ?? null,
      ...(v.description ? { description: v.description } : {}),
      ...(v.env_var ? { env_var: v.env_var } : {}),
      triggers: v.triggers ?? [],
    });
  }
  // Which variables each agent sees.
  const exposure = variablesCheck.source
    ? variablesCheck.parse(
        z.record(z.string(), z.array(z.string())).optional(),
        (variablesCheck.source.value as { agents?: unknown } | undefined)?.agents,
        ['agents'],
        lenient,
      )
    : undefined;
  for (const [agentName, names] of Object.entries(exposure ?? {})) {
    if (agentsKnown && !isAgent(agentName)) variablesCheck.skip(['agents', agentName], noAgent(agentName), lenient);
    names.forEach((name, j) => {
      if (!namedVariables.has(name))
        variablesCheck.skip(['agents', agentName, j], `no context variable named "${name}"`, lenient);
    });
    const agent = agents.find((a) => a.name === agentName);
    if (agent) agent.variables = names.filter((n) => namedVariables.has(n));
  }
  if (exposure) for (const agent of agents) agent.variables ??= [];

  // handoffs
  const handoffsCheck = checked.handoffs;
  const handoffs: HandoffRule[] = [];
  for (const { i, value: h } of handoffsCheck.entries('handoff_rules', HandoffEntry, lenient)) {
    const problem = (field: string, message: string) => handoffsCheck.problem(['handoff_rules', i, field], message);
    const fromUser = h.source_agent === 'user';
    if (agentsKnown && !fromUser && !isAgent(h.source_agent))
      problem('source_agent', `${noAgent(h.source_agent)} (or use user)`);
    if (agentsKnown && !isTarget(h.target_agent)) problem('target_agent', targetMessage(h.target_agent));
    if (fromUser && h.target_agent === 'user')
      problem('target_agent', 'a rule from the user must name the agent who answers (or terminate)');
    if (h.handoff_type === 'after_work') {
      handoffs.push({ source_agent: h.source_agent, target: h.target_agent, kind: 'after_work' });
      continue;
    }
    if (!h.condition) {
      problem('condition', 'a condition rule needs a condition');
      continue;
    }
    if (!h.condition_type) {
      problem('condition_type', 'a condition rule needs condition_type: expression or llm');
      continue;
    }
    if (h.condition_type === 'llm') {
      handoffs.push({ source_agent: h.source_agent, target: h.target_agent, kind: 'llm', condition: h.condition });
      continue;
    }
    try {
      const expression = parseExpression(h.condition);
      const unknown = expressionVariables(expression).filter((name) => !namedVariables.has(name));
      if (unknown.length)
        problem(
          'condition',
          `unknown context variable(s) ${unknown.map((n) => `"${n}"`).join(', ')}; declare them in context_variables.yaml`,
        );
      else
        handoffs.push({
          source_agent: h.source_agent,
          target: h.target_agent,
          kind: 'expression',
          condition: h.condition,
          expression,
        });
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      problem('condition', error.message);
    }
  }

  // The Python runtime's other files: read and reported, never silently ignored.
  const hooks = extras.includes('hooks.yaml') ? readHooks(root, workflowId, isAgent, lenient, warnings, problems) : [];
  reportExtras(
    root,
    workflowId,
    extras.filter((name) => name !== 'hooks.yaml'),
    hasPack,
    options.strict ? problems : warnings,
    problems,
  );

  for (const kind of FILE_KINDS) {
    problems.push(...checked[kind].problems);
    warnings.push(...checked[kind].warnings);
  }
  if (problems.length > 0 || !o || agents.length === 0) {
    if (problems.length === 0)
      problems.push({
        file: agentsFile || fileOf('agents'),
        field: 'agents',
        line: 1,
        column: 1,
        message: 'a workflow needs at least one agent',
      });
    throw new WorkflowValidationError(workflowId, sortProblems(problems), sortProblems(warnings));
  }

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
    hooks,
    lifecycle_tools: lifecycle,
    context_variables: variables,
    handoffs,
    warnings: sortProblems(warnings),
  };
}

/** Problems in file order, then by place, so a report reads top to bottom. */
function sortProblems(problems: WorkflowProblem[]): WorkflowProblem[] {
  const order = (file: string) => {
    const base = path.basename(file).replace(/\.(ya?ml|json)$/, '');
    const i = [...FILE_KINDS, 'hooks', 'ui_config', '_pack'].indexOf(base === 'config' ? 'orchestrator' : base);
    return i < 0 ? 99 : i;
  };
  return [...problems].sort(
    (a, b) => order(a.file) - order(b.file) || a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column,
  );
}

/**
 * hooks.yaml: each hook's function, run in the tool-runner around its agent's replies. Hook types
 * that do not run here are reported and skipped (refused with --strict).
 */
function readHooks(
  root: string,
  workflowId: string,
  isAgent: (name: string) => boolean,
  lenient: boolean,
  warnings: WorkflowProblem[],
  problems: WorkflowProblem[],
): HookDefinition[] {
  const dir = path.join(root, workflowId);
  const relative = path.join(workflowId, 'hooks.yaml');
  const read = readDocument(root, relative);
  if (!read) return [];
  if (read.problems.length) {
    problems.push(...read.problems);
    return [];
  }
  const hooks: HookDefinition[] = [];
  const check = new Checked({ relative, read, value: read.value ?? { hooks: [] }, toDocument: (f) => f });
  check.topLevel(['hooks'], lenient);
  for (const { i, value: h } of check.entries('hooks', z.unknown(), lenient)) {
    const type = (h as { hook_type?: unknown })?.hook_type;
    if (typeof type === 'string' && !(HOOK_TYPES as readonly string[]).includes(type)) {
      const message = `${type} hooks do not run here, only ${HOOK_TYPES.join(' and ')}: this one is skipped; change the agent's prompt in an update_agent_state hook instead`;
      (lenient ? warnings : problems).push({
        file: relative,
        field: `hooks.${i}.hook_type`,
        ...read.locate(['hooks', i, 'hook_type']),
        message,
      });
      continue;
    }
    const hook = check.parse(HookEntry, h, ['hooks', i], lenient);
    if (!hook) continue;
    const problem = (field: string, message: string) => check.problem(['hooks', i, field], message);
    if (hook.hook_agent !== 'all' && !isAgent(hook.hook_agent))
      problem('hook_agent', `no agent named "${hook.hook_agent}" (or use all)`);
    // A hook that cannot be imported is logged and skipped by the Python runtime: here too, unless strict.
    const file = findInFolder(dir, hook.filename);
    if (!file) {
      check.skip(
        ['hooks', i, 'filename'],
        `hook file ${hook.filename} not found in ${workflowId}/ or ${workflowId}/tools/`,
        lenient,
      );
      continue;
    }
    const signature = readPythonSignature(readFileSync(path.join(dir, file), 'utf8'), hook.function);
    if (!signature) {
      check.skip(['hooks', i, 'function'], `${file} has no top-level function "${hook.function}"`, lenient);
      continue;
    }
    hooks.push({
      type: hook.hook_type,
      agent: hook.hook_agent,
      tool: {
        name: hook.function,
        agent: hook.hook_agent,
        file,
        function: hook.function,
        description: signature.description ?? hook.function,
        tool_type: 'Agent_Tool',
        parameters: { type: 'object', properties: {} },
        env: [],
      },
    });
  }
  problems.push(...check.problems);
  warnings.push(...check.warnings);
  return hooks;
}

/** ui_config.yaml and _pack/: what each holds, and that it has no effect here. */
function reportExtras(
  root: string,
  workflowId: string,
  extras: readonly string[],
  hasPack: boolean,
  warnings: WorkflowProblem[],
  problems: WorkflowProblem[],
): void {
  const dir = path.join(root, workflowId);
  for (const name of extras) {
    const relative = path.join(workflowId, name);
    const read = readDocument(root, relative);
    if (!read) continue;
    if (read.problems.length) {
      problems.push(...read.problems);
      continue;
    }
    const doc = (read.value ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(doc))
      warnings.push({
        file: relative,
        field: key,
        ...read.locateKey([], key),
        message: "is for the Python runtime's frontend and has no effect here",
      });
  }
  if (hasPack) {
    const files = readdirSync(path.join(dir, '_pack')).sort();
    warnings.push({
      file: path.join(workflowId, '_pack'),
      field: '',
      line: 1,
      column: 1,
      message: `workflow packs are not run here (${files.join(', ') || 'empty'}): each workflow runs on its own, started by its id`,
    });
  }
}

/** The `name`s of the entries of a list as written (entries without one skipped). */
function namesIn(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[]).flatMap((entry) => {
    const name = typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? [name] : [];
  });
}
