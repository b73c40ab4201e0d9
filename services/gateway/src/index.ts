// The gateway service's parts, shared with the standalone runtime.
export { Gateway } from './gateway.js';
export type { GatewayOptions } from './gateway-options.js';
export { CHAT_PATH } from './handshake.js';
export { START_PATH } from './http-start.js';
export { gatewayFromConfig, verifierFromConfig } from './from-config.js';
export type { GatewayParts } from './from-config.js';
