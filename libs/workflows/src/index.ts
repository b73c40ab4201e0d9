// Workflow folders: loading, validation and the definition the engine runs.
export { ExpressionError, evaluateExpression, expressionVariables, parseExpression } from './condition-expression.js';
export type { Expression } from './condition-expression.js';
export {
  AgentsFile,
  CONTEXT_VARIABLE_TYPES,
  ContextVariablesFile,
  HOOK_TYPES,
  HandoffsFile,
  HooksFile,
  LIFECYCLE_TRIGGERS,
  SPECIAL_TARGETS,
  StructuredOutputsFile,
  matchesVariableType,
  LlmConfig,
  ORCHESTRATION_PATTERNS,
  OrchestratorFile,
  RESERVED_TOOL_ENV,
  STARTUP_MODES,
  TOOL_FILE_EXTENSIONS,
  ToolEnv,
  ToolsFile,
  UI_DISPLAYS,
  VariableTrigger,
  reservedToolEnv,
} from './workflow-definition.js';
export type {
  AgentDefinition,
  ContextVariableDefinition,
  HandoffRule,
  HookDefinition,
  LifecycleToolDefinition,
  StructuredOutput,
  ToolDefinition,
  WorkflowDefinition,
} from './workflow-definition.js';
export {
  JSON_FORM_FILE,
  WORKFLOW_FILE_NAMES,
  WorkflowNotFoundError,
  WorkflowValidationError,
  formatProblem,
  isWorkflowFolder,
  loadWorkflow,
} from './workflow-loader.js';
export type { LoadOptions, WorkflowProblem } from './workflow-loader.js';
export { CONTEXT_PARAMETER, readPythonSignature } from './python-signature.js';
export { joinPromptSections } from './upstream-format.js';
export { WorkflowRegistry } from './workflow-registry.js';
export type { WorkflowRegistryOptions } from './workflow-registry.js';
export { WORKFLOW_FILES, workflowFileJsonSchema } from './json-schemas.js';
export type { WorkflowFileKind } from './json-schemas.js';
export { parseStructuredReply } from './structured-output.js';
