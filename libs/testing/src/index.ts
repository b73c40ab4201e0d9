// Test harness: real servers and clients for the runtime's tests. Tests only.
export { startScriptedLlm } from './scripted-llm.js';
export type { ScriptStep, ScriptedLlm } from './scripted-llm.js';
export {
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_SECRET,
  guideClaims,
  mintAdminToken,
  mintToken,
  unsignedToken,
} from './tokens.js';
export type { MintOptions } from './tokens.js';
export { HandshakeRefused, WsTestClient } from './ws-client.js';
export type { TestEvent } from './ws-client.js';
export { natsServerBinary, startNatsServer } from './nats-server.js';
export { freePort, testServerCacheDir } from './local-servers.js';
export type { NatsServer } from './nats-server.js';
export { makeTempDir } from './temp-dir.js';
export { processEnded } from './process-ended.js';
export type { TempDir } from './temp-dir.js';
export { ferretDbBinary, mongoTestServerAvailable, mongoTestServerKind, startMongoTestServer } from './mongo-server.js';
export type { MongoTestServer } from './mongo-server.js';
