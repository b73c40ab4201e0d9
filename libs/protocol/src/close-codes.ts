// WebSocket close codes the runtime sends, and what a client should do on each.

export const CloseCode = {
  /** The client or the server ended the session normally. */
  Normal: 1000,
  /** The server is going away for good (rare; prefer ServiceRestart). */
  GoingAway: 1001,
  /** A frame was larger than MAX_MESSAGE_BYTES. Do not resend it. */
  MessageTooBig: 1009,
  /** The runtime failed unexpectedly. Reconnect. */
  InternalError: 1011,
  /** This instance is restarting or draining. Reconnect (to any instance). */
  ServiceRestart: 1012,
  /** The launch token expired on the open socket. Reconnect with a new token, resuming with `last_seq`. */
  TokenExpired: 4001,
  /** The client read too slowly: more than WS_MAX_BUFFERED_BYTES waited for it. Reconnect with `last_seq`. */
  SlowConsumer: 4008,
  /** The chat was deleted (the API over chats, or retention): its history is gone. Do not reconnect to it. */
  ChatDeleted: 4410,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
