// The gateway service's parts, shared with the standalone runtime.
export { CHAT_PATH, Gateway } from './gateway.js';
export type { GatewayOptions } from './gateway.js';
export { verifierFromConfig } from './from-config.js';
