// @mozaiks/client: the MozaiksAI Runtime's WebSocket protocol for browsers and Node.
export { MozaiksClient, MozaiksClientError, connect } from './client.js';
export type { ConnectOptions, ConnectionState, WebSocketConstructor, WebSocketLike } from './client.js';
export type { ServerEvent, ServerEventType } from '@mozaiks/protocol';
