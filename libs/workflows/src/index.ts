// Workflow folders: loading, validation and the definition the engine runs.
export { ExpressionError, evaluateExpression, expressionVariables, parseExpression } from './condition-expression.js';
export type { Expression } from './condition-expression.js';
export {
  AgentsFile,
  CONTEXT_VARIABLE_TYPES,
  ContextVariablesFile,
  HandoffsFile,
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
  reservedToolEnv,
} from './workflow-definition.js';
export type { AgentDefinition, ContextVariableDefinition, HandoffRule, StructuredOutput, ToolDefinition, WorkflowDefinition } from './workflow-definition.js';
export { JSON_FORM_FILE, WORKFLOW_FILE_NAMES, WorkflowNotFoundError, WorkflowValidationError, formatProblem, loadWorkflow } from './workflow-loader.js';
export type { WorkflowProblem } from './workflow-loader.js';
export { WorkflowRegistry } from './workflow-registry.js';
export type { WorkflowRegistryOptions } from './workflow-registry.js';
export { WORKFLOW_FILES, workflowFileJsonSchema } from './json-schemas.js';
export type { WorkflowFileKind } from './json-schemas.js';
