// The tool-runner service's parts, shared with the standalone runtime.
export { ToolSandbox, languageOf } from './sandbox.js';
export type { SandboxOptions, ToolLanguage, WorkerCommand } from './sandbox.js';
export { MAX_TOOL_OUTPUT_BYTES, MAX_TOOL_RESULT_BYTES, ToolRunner } from './tool-runner.js';
export { toolRunnerFromConfig, toolRunnerLimits } from './tool-runner-options.js';
export type { ToolRunnerLimits, ToolRunnerOptions } from './tool-runner-options.js';
