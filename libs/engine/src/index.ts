// The workflow engine: agents, orchestration and the turn loop, behind ports.
export { ConversableAgent } from './conversable-agent.js';
export {
  AutoPattern,
  DefaultPattern,
  ManualPattern,
  RandomPattern,
  RoundRobinPattern,
  SPEAKER_SELECTOR,
  createPattern,
} from './default-pattern.js';
export type { OrchestrationPattern, SpeakerSelection, TurnResult } from './default-pattern.js';
export {
  MAX_TOOL_ROUNDS_PER_TURN,
  RunAbortedError,
  TOOL_CONTEXT_KEY,
  TOOL_HANDOFF_KEY,
  runWorkflow,
} from './run-workflow.js';
export type { RunInput, RunOutcome, RunPorts } from './run-workflow.js';
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
