// `npm run gateway`: the gateway service's composition root. WebSockets, token checks and the ops
// endpoints on PORT (default 8000); nudges and chat events over NATS; the store (MONGODB_URI,
// else SQLite under DATA_DIR) for accepted inputs and replay.
import { ConfigError } from '@mozaiks/config';
import { runService } from '@mozaiks/service';
import { gatewayFromConfig } from './from-config.js';

runService(
  'gateway',
  { defaultPort: 8000, opsEndpoints: false, store: true },
  async ({ config, logger, metrics, bus, stores, ready }) => {
    if (!config.JWT_SECRET && !config.JWT_PUBLIC_KEY && !config.JWT_JWKS_URL) {
      throw new ConfigError(['JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL: required, and the same on every gateway']);
    }
    const gateway = gatewayFromConfig(config, { bus, stores: stores!, logger, metrics, isReady: ready });
    const address = await gateway.listen(config.PORT, config.HOST);
    return {
      info: { url: `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${address.port}` },
      // Refuses new sockets and asks the open ones to reconnect elsewhere (1012).
      stop: () => gateway.stop(),
    };
  },
);
