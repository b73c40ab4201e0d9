// Error codes shared by the wire (`error` events, HTTP 401 bodies) and the code that raises them.

/** Every code an `error` event or a refused handshake may carry. */
export const ErrorCode = {
  /** The frame was not JSON, or not a valid client message. */
  InvalidMessage: 'invalid_message',
  /** The frame's `type` is not one the runtime knows. */
  UnknownMessageType: 'unknown_message_type',
  /** The message's `chat_id` or `user_id` disagrees with the launch token. */
  IdentityMismatch: 'identity_mismatch',
  /** A `user_input` names no open input request of the chat. */
  NoSuchInputRequest: 'no_such_input_request',
  /** The token's `workflow_id` names no workflow folder. */
  WorkflowNotFound: 'workflow_not_found',
  /** The workflow's files are invalid. */
  WorkflowInvalid: 'workflow_invalid',
  /** The LLM endpoint failed after its retries. */
  LlmError: 'llm_error',
  /** A tool could not run or failed. */
  ToolError: 'tool_error',
  /** The launch token was refused. */
  Unauthorized: 'unauthorized',
  /** The socket's launch token expired; it is closed with 4001. */
  TokenExpired: 'token_expired',
  /** A `cancel` found no run of the chat going. */
  NoActiveRun: 'no_active_run',
  /** A message came while a run of the chat was going and DOUBLE_TEXTING=reject. */
  RunInProgress: 'run_in_progress',
  /** A message over USER_MESSAGES_PER_MINUTE: neither stored nor run; send it again after `retry_after_ms`. */
  RateLimited: 'rate_limited',
  /** A handshake beyond WS_MAX_CONNECTIONS_PER_USER or WS_MAX_CONNECTIONS_PER_APP (HTTP 429). */
  TooManyConnections: 'too_many_connections',
  /**
   * The chat's workflow changed under `version_policy: latest` and its new version has no agent
   * for the open input request or UI tool call: the chat goes on with the new version.
   */
  WorkflowChanged: 'workflow_changed',
  /** Something went wrong inside the runtime. */
  Internal: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES = Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]];

/** Base of the runtime's errors: a wire code and whether trying again may help. */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}
