// The validated definition a workflow folder loads into: what the engine runs.
import type { Expression } from './condition-expression.js';
import type {
  CONTEXT_VARIABLE_TYPES,
  HOOK_TYPES,
  LIFECYCLE_TRIGGERS,
  LlmConfig,
  ORCHESTRATION_PATTERNS,
  STARTUP_MODES,
  VERSION_POLICIES,
  UI_DISPLAYS,
  VariableTrigger,
} from './file-schemas.js';

export interface ToolDefinition {
  name: string;
  agent: string;
  file: string;
  function: string;
  description: string;
  tool_type: 'Agent_Tool' | 'UI_Tool';
  parameters: Record<string, unknown>;
  timeout_seconds?: number;
  /** Variables the tool receives from the tool-runner's environment. */
  env: string[];
  /** A UI tool's component: the run waits for the client's response, which is the tool's result. */
  ui?: { component: string; display: (typeof UI_DISPLAYS)[number] };
  /** The function takes the chat's context variables (a Python `context_variables` parameter). */
  takes_context?: boolean;
  /** Called by the runtime with its agent's structured output when the agent is in auto_tool_mode. */
  auto_invoke?: boolean;
}

/** A hook: `update_agent_state` adjusts the agent's system message before it replies; `process_message_before_send` rewrites its reply. */
export interface HookDefinition {
  type: (typeof HOOK_TYPES)[number];
  /** The agent it applies to, or `all`. */
  agent: string;
  /** The function, run in the tool-runner like a tool. */
  tool: ToolDefinition;
}

export interface LifecycleToolDefinition {
  trigger: (typeof LIFECYCLE_TRIGGERS)[number];
  /** For before_agent and after_agent: the one agent; every agent when unset. */
  agent?: string;
  tool: ToolDefinition;
}

/** An agent's reply as JSON of a given schema, checked before anyone sees it. */
export interface StructuredOutput {
  name: string;
  schema: Record<string, unknown>;
  /** Problems of a value against the schema; empty when it conforms. */
  check: (value: unknown) => string[];
}

export interface AgentDefinition {
  name: string;
  /** A custom class for this agent: the module file in the workflow folder and the export. */
  class?: { file: string; export: string };
  role?: string;
  system_message: string;
  llm_config: LlmConfig;
  tools: ToolDefinition[];
  structured_output?: StructuredOutput;
  /** Replies in one turn before the agent must answer in words; the workflow's when unset. */
  max_consecutive_auto_reply?: number;
  /** The context variables the agent's prompt shows; all of them when unset. */
  variables?: string[];
  /**
   * The agent is offered no tools of its own: its structured output is passed, key by parameter,
   * to `auto_tool`, and the turn ends with that tool's result.
   */
  auto_tool?: ToolDefinition;
}

/** One workflow, validated, with everything the engine needs to run it. */
export interface ContextVariableDefinition {
  name: string;
  type: (typeof CONTEXT_VARIABLE_TYPES)[number];
  default: unknown;
  description?: string;
  /** Environment variable of the executor the variable starts from, when set. */
  env_var?: string;
  /** What sets the variable besides tools; none when unset. */
  triggers?: VariableTrigger[];
}

export type HandoffRule =
  | { source_agent: string; target: string; kind: 'after_work' }
  | { source_agent: string; target: string; kind: 'expression'; condition: string; expression: Expression }
  | { source_agent: string; target: string; kind: 'llm'; condition: string };

export interface WorkflowDefinition {
  id: string;
  /** Absolute path of the workflow folder. */
  dir: string;
  name: string;
  description?: string;
  max_turns: number;
  max_consecutive_auto_reply: number;
  human_in_the_loop: boolean;
  startup_mode: (typeof STARTUP_MODES)[number];
  /** `pinned`: a chat runs the version its first run used, for its life. `latest`: each run takes the current one. */
  version_policy: (typeof VERSION_POLICIES)[number];
  orchestration_pattern: (typeof ORCHESTRATION_PATTERNS)[number];
  initial_agent: string;
  initial_message?: string;
  termination_marker: string;
  /** Where a turn goes when no handoff rule applies (with handoffs); `terminate` when unset. */
  after_work?: string;
  agents: AgentDefinition[];
  tools: ToolDefinition[];
  /** Hooks of hooks.yaml, in file order. */
  hooks?: HookDefinition[];
  /** Lifecycle tools of tools.yaml, in file order. */
  lifecycle_tools?: LifecycleToolDefinition[];
  context_variables: ContextVariableDefinition[];
  /** Handoff rules in file order; empty means agents speak in turn (DefaultPattern). */
  handoffs: HandoffRule[];
  /** Things in the folder that load but have no effect here, each with what to do instead. */
  warnings?: WorkflowProblem[];
}

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

/** Whether `value` is of a context variable's declared type (null is every type's "unset"). */
export function matchesVariableType(value: unknown, type: ContextVariableDefinition['type']): boolean {
  if (value === null) return true;
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && !Array.isArray(value);
  }
}
