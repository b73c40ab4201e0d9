// The schemas of a workflow folder's files (orchestrator.yaml, agents.yaml, tools.yaml, …), as
// zod schemas: the loader validates with them, and the editors' JSON Schemas are made from them.
import { z } from 'zod';
import { ToolEnv } from './tool-env.js';

/** Names the model sees (agents, tools) follow the OpenAI `name` rules. */
const ModelName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"');

export const ORCHESTRATION_PATTERNS = [
  'DefaultPattern',
  'AutoPattern',
  'RoundRobinPattern',
  'RandomPattern',
  'ManualPattern',
] as const;
/** Where a turn can hand over: an agent's name, the user, or the end of the run. */
export const SPECIAL_TARGETS = ['user', 'terminate'] as const;
export const CONTEXT_VARIABLE_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array'] as const;
/**
 * Who starts a chat's first run: the user's message (UserDriven), the chat's opening by a socket
 * or `POST /chat/start` (AgentDriven), or a backend's `POST /chat/start`, with no socket
 * (BackendOnly, which starts on a socket's opening too).
 */
export const STARTUP_MODES = ['UserDriven', 'AgentDriven', 'BackendOnly'] as const;
export const TOOL_FILE_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.py'] as const;
/** Where a client shows a UI tool's component: in the conversation, or beside it. */
export const UI_DISPLAYS = ['inline', 'artifact'] as const;

/** Which version a chat's later runs use: the one its first run used, or the current one. */
export const VERSION_POLICIES = ['pinned', 'latest'] as const;

export const OrchestratorFile = z.strictObject({
  workflow_name: z.string().min(1),
  description: z.string().optional(),
  /** Agent turns one run may take. */
  max_turns: z.number().int().positive().default(10),
  /** Replies an agent may make in one turn (each tool round is one) before it must answer in words. */
  max_consecutive_auto_reply: z.number().int().positive().default(10),
  human_in_the_loop: z.boolean().default(false),
  startup_mode: z.enum(STARTUP_MODES, { error: `must be one of: ${STARTUP_MODES.join(', ')}` }).default('UserDriven'),
  version_policy: z
    .enum(VERSION_POLICIES, { error: `must be one of: ${VERSION_POLICIES.join(', ')}` })
    .default('pinned'),
  orchestration_pattern: z
    .enum(ORCHESTRATION_PATTERNS, { error: `must be one of: ${ORCHESTRATION_PATTERNS.join(', ')}` })
    .default('DefaultPattern'),
  /** The agent that speaks first; the first in agents.yaml when unset. */
  initial_agent: ModelName.optional(),
  initial_message: z.string().optional(),
  /** Text that, at the end of an agent's reply, ends the run. */
  termination_marker: z.string().min(1).default('TERMINATE'),
  /** Where a turn goes when no handoff rule of its agent applies (DefaultPattern with handoffs). @default terminate */
  after_work: z.string().min(1).optional(),
});
export type OrchestratorFile = z.infer<typeof OrchestratorFile>;

export const LlmConfig = z.strictObject({
  model: z.string().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
});
export type LlmConfig = z.infer<typeof LlmConfig>;

/** Extensions a custom agent class's module may have. */
export const AGENT_CLASS_EXTENSIONS = ['.ts', '.js', '.mjs', '.cjs'] as const;

export const AgentEntry = z.strictObject({
  name: ModelName,
  /** `module.ClassName`: a class in `module.ts` (or .js, .mjs, .cjs) of the workflow folder that extends ConversableAgent. */
  class: z
    .string()
    .regex(
      /^[A-Za-z0-9_][A-Za-z0-9_./-]*\.[A-Za-z_$][A-Za-z0-9_$]*$/,
      'must be "module.ClassName", such as custom_agents.DataAnalystAgent',
    )
    .optional(),
  role: z.string().optional(),
  system_message: z.string().min(1),
  llm_config: LlmConfig.optional(),
  /** Replies this agent may make in one turn, overriding the orchestrator's. */
  max_consecutive_auto_reply: z.number().int().positive().optional(),
  /** The agent answers with its structured output only, which the runtime passes to its `auto_invoke` tool. */
  auto_tool_mode: z.boolean().optional(),
});

export const AgentsFile = z.strictObject({
  agents: z.array(AgentEntry).min(1, 'a workflow needs at least one agent'),
});

/** JSON Schema of a tool's arguments, as the model receives it. */
const ToolParameters = z.looseObject({ type: z.literal('object') });

export const ToolEntry = z.strictObject({
  agent: ModelName,
  file: z
    .string()
    .min(1)
    .refine((f) => !f.startsWith('/') && !f.split(/[\\/]/).includes('..'), 'must be a path inside the workflow folder')
    .refine(
      (f) => TOOL_FILE_EXTENSIONS.some((ext) => f.endsWith(ext)),
      `must end in ${TOOL_FILE_EXTENSIONS.join(', ')}`,
    ),
  function: z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'must be a function name'),
  /** The name the model calls; the function's name when unset. */
  name: ModelName.optional(),
  /** What the tool does, for the model; a Python function's docstring when unset. */
  description: z.string().min(1).optional(),
  tool_type: z.enum(['Agent_Tool', 'UI_Tool'], { error: 'must be one of: Agent_Tool, UI_Tool' }).default('Agent_Tool'),
  parameters: ToolParameters.optional(),
  timeout_seconds: z.number().positive().optional(),
  /** Variables of the tool-runner's environment this tool receives; it gets no others. */
  env: ToolEnv.optional(),
  /** Called by the runtime with its agent's structured output (auto_tool_mode). @default true for a UI_Tool */
  auto_invoke: z.boolean().optional(),
  /** A UI tool's component and where the client shows it. */
  ui: z
    .strictObject({
      component: z.string().min(1),
      display: z.enum(UI_DISPLAYS, { error: `must be one of: ${UI_DISPLAYS.join(', ')}` }).default('inline'),
    })
    .optional(),
});

/** Where a lifecycle tool runs: before the chat's first turn, after its last, around an agent's turns. */
export const LIFECYCLE_TRIGGERS = ['before_chat', 'after_chat', 'before_agent', 'after_agent'] as const;

/** A tool the runtime calls at a point of the chat (not the model), with the chat's variables. */
export const LifecycleToolEntry = z.strictObject({
  trigger: z.enum(LIFECYCLE_TRIGGERS, { error: `must be one of: ${LIFECYCLE_TRIGGERS.join(', ')}` }),
  /** For before_agent and after_agent: the agent; every agent when unset. */
  agent: ModelName.nullable().optional(),
  file: ToolEntry.shape.file,
  function: ToolEntry.shape.function,
  description: z.string().optional(),
  /** Only Agent_Tool runs here: a UI lifecycle tool is reported and skipped. */
  tool_type: ToolEntry.shape.tool_type,
  timeout_seconds: z.number().positive().optional(),
  env: ToolEnv.optional(),
  /** Written by the Python runtime's generator; a lifecycle tool is always called. */
  auto_invoke: z.boolean().nullable().optional(),
  ui: z.looseObject({}).nullable().optional(),
});

export const ToolsFile = z.strictObject({
  tools: z.array(ToolEntry).default([]),
  lifecycle_tools: z.array(LifecycleToolEntry).default([]),
});

/** Functions the runtime calls around an agent's reply (the Python runtime's AG2 hooks). */
export const HOOK_TYPES = ['update_agent_state', 'process_message_before_send'] as const;

export const HookEntry = z.strictObject({
  hook_type: z.enum(HOOK_TYPES, { error: `must be one of: ${HOOK_TYPES.join(', ')}` }),
  /** An agent's name, or `all`. */
  hook_agent: z.string().min(1),
  filename: z
    .string()
    .min(1)
    .refine((f) => !f.startsWith('/') && !f.split(/[\\/]/).includes('..'), 'must be a path inside the workflow folder')
    .refine((f) => f.endsWith('.py'), 'hooks are Python functions: must end in .py'),
  function: ToolEntry.shape.function,
});

export const HooksFile = z.strictObject({ hooks: z.array(HookEntry).default([]) });

export const StructuredOutputEntry = z.strictObject({
  agent: ModelName,
  /** Name of the output, for the model. @default `<agent>_output` */
  name: ModelName.optional(),
  /** JSON Schema of the agent's reply, an object. */
  schema: z.looseObject({
    type: z.literal('object', { error: 'a structured output is an object: type must be "object"' }),
  }),
});

export const StructuredOutputsFile = z.strictObject({ structured_outputs: z.array(StructuredOutputEntry).default([]) });

const VariableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a name of letters, digits and "_"');

/** What sets a variable during a run, besides tools. */
export const VariableTrigger = z.discriminatedUnion(
  'type',
  [
    /** An agent's reply: the variable becomes true when the reply matches. */
    z.strictObject({
      type: z.literal('agent_text'),
      agent: ModelName,
      match: z
        .strictObject({
          equals: z.string().min(1).optional(),
          contains: z.string().min(1).optional(),
          regex: z.string().min(1).optional(),
        })
        .refine(
          (m) => [m.equals, m.contains, m.regex].filter((x) => x !== undefined).length === 1,
          'give exactly one of equals, contains, regex',
        ),
      /** The matching reply is kept from the user (the agents still see it). */
      ui_hidden: z.boolean().default(false),
    }),
    /** A UI tool's response: the variable takes the value of `response_key` in it. */
    z.strictObject({ type: z.literal('ui_response'), tool: ModelName, response_key: z.string().min(1) }),
  ],
  { error: 'type must be one of: agent_text, ui_response' },
);
export type VariableTrigger = z.infer<typeof VariableTrigger>;

export const ContextVariableEntry = z.strictObject({
  name: VariableName,
  type: z
    .enum(CONTEXT_VARIABLE_TYPES, { error: `must be one of: ${CONTEXT_VARIABLE_TYPES.join(', ')}` })
    .default('string'),
  default: z.unknown().optional(),
  description: z.string().optional(),
  /** The variable starts with the value of this environment variable of the executor, when set. */
  env_var: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name: letters, digits and "_"')
    .optional(),
  triggers: z.array(VariableTrigger).optional(),
});

export const ContextVariablesFile = z.strictObject({
  context_variables: z.array(ContextVariableEntry).default([]),
  /** Which variables each agent sees in its prompt; every agent sees all of them when unset. */
  agents: z.record(ModelName, z.array(VariableName)).optional(),
});

export const HandoffEntry = z.strictObject({
  /** The agent whose turn ends, or `user`: the rule then picks who answers the user's next message. */
  source_agent: ModelName,
  /** An agent's name, `user` or `terminate`. */
  target_agent: z.string().min(1),
  handoff_type: z.enum(['after_work', 'condition'], { error: 'must be one of: after_work, condition' }),
  /** `expression`: on context variables, no LLM. `llm`: a plain-language condition the agent decides. */
  condition_type: z.enum(['expression', 'llm'], { error: 'must be one of: expression, llm' }).optional(),
  condition: z.string().min(1).optional(),
});

export const HandoffsFile = z.strictObject({ handoff_rules: z.array(HandoffEntry).default([]) });
