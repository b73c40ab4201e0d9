// `npm run gateway`: the gateway service's composition root. WebSockets, token checks and the ops
// endpoints on PORT (default 8000); run requests and chat events over NATS; the store for queued
// inputs and replay.
import { subjects } from '@mozaiks/protocol';
import { runService } from '@mozaiks/service';
import { SqliteChatStore } from '@mozaiks/store';
import { verifierFromConfig } from './from-config.js';
import { Gateway } from './gateway.js';

runService('gateway', { defaultPort: 8000, opsEndpoints: false }, async ({ config, logger, metrics, bus, ready }) => {
  if (!config.JWT_SECRET && !config.JWT_PUBLIC_KEY) {
    process.stderr.write('gateway: invalid configuration:\n  - JWT_SECRET or JWT_PUBLIC_KEY: required, and the same on every gateway\n');
    process.exit(1);
  }
  const store = new SqliteChatStore({ dataDir: config.DATA_DIR });
  const gateway = new Gateway({
    verifier: verifierFromConfig(config),
    bus, store, metrics, logger,
    subjects: subjects(config.SUBJECT_PREFIX),
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    isReady: ready,
  });
  const address = await gateway.listen(config.PORT, config.HOST);
  return {
    info: { url: `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${address.port}` },
    // Refuses new sockets and asks the open ones to reconnect elsewhere (1012).
    stop: () => gateway.stop(),
    close: () => store.close(),
  };
});
