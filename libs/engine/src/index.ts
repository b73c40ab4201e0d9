// The workflow engine: agents, orchestration and the turn loop, behind ports.
export { ConversableAgent } from './conversable-agent.js';
export { AutoPattern, SPEAKER_SELECTOR } from './patterns/auto-pattern.js';
export type { SpeakerSelection } from './patterns/auto-pattern.js';
export { DefaultPattern, ManualPattern, RandomPattern, RoundRobinPattern } from './patterns/ordered-patterns.js';
export { createPattern } from './patterns/pattern.js';
export type { OrchestrationPattern, TurnResult } from './patterns/pattern.js';
export { LlmCallError } from './ports.js';
export type {
  ChatMessage,
  LlmCallLog,
  LlmCallOptions,
  LlmClient,
  LlmMessage,
  LlmRequest,
  LlmResponse,
  LlmToolCall,
  LlmToolSpec,
  RunJournal,
  RunStep,
  ToolInvocation,
  ToolInvoker,
  ToolOutcome,
} from './ports.js';
export { USER_ROUTER } from './routing.js';
export { runWorkflow } from './run/run-workflow.js';
export { MAX_TOOL_ROUNDS_PER_TURN, RunAbortedError } from './run/run-types.js';
export type { RunInput, RunOutcome, RunPorts } from './run/run-types.js';
export { TOOL_HANDOFF_KEY } from './tools/run-tools.js';
export { TOOL_CONTEXT_KEY } from './variables.js';
