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
  LlmConfig,
  ORCHESTRATION_PATTERNS,
  OrchestratorFile,
  STARTUP_MODES,
  TOOL_FILE_EXTENSIONS,
  ToolsFile,
  UI_DISPLAYS,
  VERSION_POLICIES,
  VariableTrigger,
} from './file-schemas.js';
export { RESERVED_TOOL_ENV, ToolEnv, reservedToolEnv } from './tool-env.js';
export { matchesVariableType } from './workflow-definition.js';
export type * from './workflow-definition.js';
export { loadWorkflow } from './loading/load-workflow.js';
export type { LoadOptions } from './loading/load-workflow.js';
export { WorkflowNotFoundError, WorkflowValidationError, formatProblem } from './loading/problems.js';
export { JSON_FORM_FILE, WORKFLOW_FILES, WORKFLOW_FILE_NAMES, isWorkflowFolder } from './loading/workflow-files.js';
export type { WorkflowFileKind } from './loading/workflow-files.js';
export { CONTEXT_PARAMETER, readPythonSignature } from './python-signature.js';
export { joinPromptSections } from './python-format/agents.js';
export { workflowFileJsonSchema } from './json-schemas.js';
export { parseStructuredReply } from './structured-output.js';
export { MAX_VERSION_BYTES, folderStamp, readWorkflowFiles, workflowVersion } from './versions/workflow-snapshot.js';
export type { WorkflowFiles } from './versions/workflow-snapshot.js';
export { WorkflowVersions } from './versions/workflow-versions.js';
export type { VersionSource, VersionedWorkflow, WorkflowVersionsOptions } from './versions/workflow-versions.js';
