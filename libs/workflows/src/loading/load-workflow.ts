// Loads `workflows/<id>/` into one WorkflowDefinition, collecting every problem with the file,
// field, line and column it is in. A folder is read in this runtime's form (orchestrator.yaml,
// agents.yaml, …, or the single config.json) or in the Python MozaiksAI runtime's form, which is
// reshaped first (python-format/). Every entry is checked on its own (validation/, one module per
// file kind) and references between files are checked with whatever entries are valid, so one
// pass reports every problem.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ID_PATTERN } from '@mozaiks/protocol';
import { adaptAgents, adaptOrchestrator, requiredStructuredOutputs } from '../python-format/agents.js';
import { adaptContextVariables } from '../python-format/context-variables.js';
import { isPythonFormat } from '../python-format/shape.js';
import type { Adapted } from '../python-format/shape.js';
import { adaptStructuredOutputs } from '../python-format/structured-outputs.js';
import { adaptHandoffs, adaptTools } from '../python-format/tools-handoffs.js';
import { validateAgents } from '../validation/agents.js';
import { validateContextVariables } from '../validation/context-variables.js';
import { validateHandoffs } from '../validation/handoffs.js';
import { readHooks } from '../validation/hooks.js';
import { checkOrchestratorReferences, validateOrchestrator } from '../validation/orchestrator.js';
import { reportExtras } from '../validation/python-extras.js';
import {
  checkRequiredOutputs,
  validateAutoToolMode,
  validateStructuredOutputs,
} from '../validation/structured-outputs.js';
import { validateLifecycleTools, validateTools } from '../validation/tools.js';
import { AgentNames } from '../validation/validation-context.js';
import type { FolderContext } from '../validation/validation-context.js';
import type { WorkflowDefinition, WorkflowProblem } from '../workflow-definition.js';
import { Checked } from './checked.js';
import type { Source } from './checked.js';
import { jsonFormSources } from './json-form.js';
import { WorkflowNotFoundError, WorkflowValidationError, sortProblems } from './problems.js';
import { namesIn, readDocument } from './read-document.js';
import { EXTENSIONS, JSON_FORM_FILE, PYTHON_FORM_EXTRAS, WORKFLOW_FILES, isWorkflowFolder } from './workflow-files.js';
import type { WorkflowFileKind } from './workflow-files.js';

export interface LoadOptions {
  /** Warnings (keys with no effect, unknown keys of a Python-runtime folder) are problems. */
  strict?: boolean;
}

/** The Python form's reshaping of each file kind. */
const ADAPTERS: Record<WorkflowFileKind, (raw: unknown) => Adapted> = {
  orchestrator: adaptOrchestrator,
  agents: adaptAgents,
  tools: adaptTools,
  context_variables: adaptContextVariables,
  handoffs: adaptHandoffs,
  structured_outputs: adaptStructuredOutputs,
};

/** The keys each file (but the orchestrator, checked by its schema) may have at its top. */
const TOP_LEVEL: Record<Exclude<WorkflowFileKind, 'orchestrator'>, string[]> = {
  agents: ['agents'],
  tools: ['tools', 'lifecycle_tools'],
  context_variables: ['context_variables', 'agents'],
  handoffs: ['handoff_rules'],
  structured_outputs: ['structured_outputs'],
};

/** A folder as read: each file kind's source, checked for its own problems, and what was found beside them. */
interface ReadFolder {
  folder: FolderContext;
  jsonForm: boolean;
  pythonForm: boolean;
  checked: Record<WorkflowFileKind, Checked>;
  sources: Partial<Record<WorkflowFileKind, Source>>;
  /** The Python form's extra files present. */
  extras: string[];
  hasPack: boolean;
  problems: WorkflowProblem[];
  warnings: WorkflowProblem[];
  fileOf: (kind: WorkflowFileKind) => string;
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
  const read = readFolder(root, workflowId, options);
  const { folder, checked, problems, warnings } = read;

  const o = validateOrchestrator(checked.orchestrator, folder, read.pythonForm);
  // Every agent entry's name counts for references, even an entry with other problems.
  const agentsSource = checked.agents.source;
  const names = new AgentNames(
    new Set(namesIn((agentsSource?.value as { agents?: unknown } | undefined)?.agents)),
    agentsSource !== undefined,
    checked.agents.relative,
  );
  const { agents, autoAgents } = validateAgents(checked.agents, folder);
  const tools = validateTools(checked.tools, folder, names, agents);
  const lifecycle = validateLifecycleTools(checked.tools, folder, names);
  checkOrchestratorReferences(checked.orchestrator, o, names);
  validateStructuredOutputs(checked.structured_outputs, folder, names, agents);
  const required = read.jsonForm ? [] : requiredStructuredOutputs(read.sources.agents?.value);
  checkRequiredOutputs(checked.agents, required, agents, options.strict ? problems : warnings);
  validateAutoToolMode(checked.agents, folder, autoAgents, agents, warnings);
  const variablesSource = checked.context_variables.source?.value as { context_variables?: unknown } | undefined;
  const namedVariables = new Set(namesIn(variablesSource?.context_variables));
  const variables = validateContextVariables(checked.context_variables, folder, names, agents, tools, namedVariables);
  const handoffs = validateHandoffs(checked.handoffs, folder, names, namedVariables);
  // The Python runtime's other files: read and reported, never silently ignored.
  const hooks = read.extras.includes('hooks.yaml') ? readHooks(folder, names, warnings, problems) : [];
  const others = read.extras.filter((name) => name !== 'hooks.yaml');
  reportExtras(folder, others, read.hasPack, options.strict ? problems : warnings, problems);

  for (const kind of WORKFLOW_FILES) {
    problems.push(...checked[kind].problems);
    warnings.push(...checked[kind].warnings);
  }
  if (problems.length > 0 || !o || agents.length === 0) {
    if (problems.length === 0) {
      const file = checked.agents.relative || read.fileOf('agents');
      problems.push({ file, field: 'agents', line: 1, column: 1, message: 'a workflow needs at least one agent' });
    }
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
    version_policy: o.version_policy,
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

/**
 * Reads every file first (whether the folder is in the Python runtime's form decides how strictly
 * it is read), reshapes the Python form with its notes placed in the files as written, and checks
 * each file's top-level keys.
 */
function readFolder(root: string, workflowId: string, options: LoadOptions): ReadFolder {
  const dir = path.join(root, workflowId);
  const jsonForm =
    existsSync(path.join(dir, JSON_FORM_FILE)) &&
    !EXTENSIONS.some((ext) => existsSync(path.join(dir, `orchestrator${ext}`)));
  const problems: WorkflowProblem[] = [];
  const warnings: WorkflowProblem[] = [];
  const fileOf = (kind: WorkflowFileKind) => {
    if (jsonForm) return path.join(workflowId, JSON_FORM_FILE);
    const found = EXTENSIONS.map((ext) => `${kind}${ext}`).find((f) => existsSync(path.join(dir, f)));
    return path.join(workflowId, found ?? `${kind}.yaml`);
  };
  const sources = jsonForm
    ? jsonFormSources(root, workflowId, fileOf('orchestrator'), problems)
    : readFiles(root, fileOf, problems);
  const extras = PYTHON_FORM_EXTRAS.filter((f) => existsSync(path.join(dir, f)));
  const hasPack = existsSync(path.join(dir, '_pack'));
  const written = Object.fromEntries(Object.entries(sources).map(([k, s]) => [k, s.value]));
  const pythonForm = isPythonFormat(written, extras.length > 0 || hasPack);
  const orchestratorMissing = !jsonForm && !sources.orchestrator && !pythonForm;
  if (orchestratorMissing && !problems.some((p) => p.file === fileOf('orchestrator'))) {
    problems.push({ file: fileOf('orchestrator'), field: '', line: 1, column: 1, message: 'file is missing' });
  }
  const folder: FolderContext = {
    workflowId,
    dir,
    lenient: pythonForm && !options.strict,
    strict: options.strict ?? false,
  };
  const checked = {} as Record<WorkflowFileKind, Checked>;
  for (const kind of WORKFLOW_FILES) {
    const source = sources[kind];
    if (!source || jsonForm) {
      checked[kind] = new Checked(source);
      continue;
    }
    const adapted = ADAPTERS[kind](source.value);
    const check = new Checked({ ...source, value: adapted.value, toDocument: adapted.toDocument });
    check.note(adapted.warnings, options.strict ? check.problems : check.warnings);
    check.note(adapted.problems, check.problems);
    checked[kind] = check;
  }
  if (!jsonForm) {
    for (const [kind, allowed] of Object.entries(TOP_LEVEL)) {
      checked[kind as WorkflowFileKind].topLevel(allowed, folder.lenient);
    }
  }
  return { folder, jsonForm, pythonForm, checked, sources, extras, hasPack, problems, warnings, fileOf };
}

/** The multi-file form's files as sources; a file with a syntax error has its problems and no source. */
function readFiles(
  root: string,
  fileOf: (kind: WorkflowFileKind) => string,
  problems: WorkflowProblem[],
): Partial<Record<WorkflowFileKind, Source>> {
  const sources: Partial<Record<WorkflowFileKind, Source>> = {};
  for (const kind of WORKFLOW_FILES) {
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
  return sources;
}
