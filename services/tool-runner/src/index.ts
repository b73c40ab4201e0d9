// The tool-runner service's parts, shared with the standalone runtime.
export { ToolRunner } from './tool-runner.js';
export type { ToolRunnerOptions } from './tool-runner.js';
export { MAX_TOOL_OUTPUT_BYTES, MAX_TOOL_RESULT_BYTES, runToolProcess } from './tool-process.js';
export type { ToolProcessRequest } from './tool-process.js';
