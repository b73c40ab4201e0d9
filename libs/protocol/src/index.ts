// The runtime's wire contract: token claims, client messages, server events, bus messages, subjects.
export { ID_PATTERN, Id, Tenant, WorkflowVersion, newEventId } from './ids.js';
export { CloseCode } from './close-codes.js';
export { EnvBoolean, parseEnvBoolean } from './env-boolean.js';
export { ERROR_CODES, ErrorCode, RuntimeError } from './errors.js';
export { EXECUTE_SCOPE, LaunchTokenClaims, REGISTERED_CLAIMS, toLaunchContext } from './launch-token.js';
export type { LaunchContext } from './launch-token.js';
export { ADMIN_SCOPE, AdminTokenClaims, hasScope } from './admin-token.js';
export type { AdminCaller } from './admin-token.js';
export {
  AdminErrorCode,
  ApiError,
  ChatDetail,
  ChatEvents,
  ChatEventsQuery,
  ChatList,
  ChatListQuery,
  ChatQuery,
  ChatSummary,
  DeletedChat,
  EraseUserQuery,
  ErasedUser,
  ForkRequest,
  RunStatus,
} from './admin-api.js';
export {
  CLIENT_MESSAGE_TYPES,
  CancelMessage,
  ClientMessage,
  MAX_USER_CONTENT,
  RefreshMessage,
  ResumeMessage,
  UserInputMessage,
  UiToolResponseMessage,
  UserMessage,
  StartChatAccepted,
  StartChatRequest,
  describeIssues,
  parseClientMessage,
  parseStartChat,
} from './client-messages.js';
export type { ParsedClientMessage } from './client-messages.js';
export {
  AgentMessageDeltaEvent,
  AgentMessageEvent,
  CompletionReason,
  ErrorEvent,
  HOOK_POINTS,
  HookEvent,
  InputRequestEvent,
  ModelUsage,
  SERVER_EVENT_TYPES,
  ServerEvent,
  TokenCounts,
  TokenRefreshedEvent,
  ToolCallEvent,
  ToolResultEvent,
  UsageUpdateEvent,
  UsageDeltaEvent,
  UiToolEvent,
  WorkflowCompleteEvent,
  usageEventId,
} from './events.js';
export type { EventBody, ServerEventType } from './events.js';
export {
  ChatControl,
  ChatControlReply,
  ChatDeleted,
  ChatEventEnvelope,
  ChatNudge,
  LiveEventEnvelope,
  LlmCallUsage,
  ToolFailure,
  ToolReply,
  ToolRequest,
  UsageDeadLetter,
  UsageRecord,
  WorkflowVersionReply,
  WorkflowVersionRequest,
} from './bus-messages.js';
export { DEFAULT_SUBJECT_PREFIX, subjects } from './subjects.js';
export type { Subjects } from './subjects.js';
