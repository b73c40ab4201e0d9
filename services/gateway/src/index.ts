// The gateway service's parts, shared with the standalone runtime.
export { CHAT_PATH, Gateway } from './gateway.js';
export type { GatewayOptions } from './gateway.js';
export { gatewayFromConfig, verifierFromConfig } from './from-config.js';
export type { GatewayParts } from './from-config.js';
