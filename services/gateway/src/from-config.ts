// The gateway and its launch-token verifier as the configuration describes them.
import { LaunchTokenVerifier } from '@mozaiks/auth';
import { NatsBus } from '@mozaiks/bus';
import type { Bus } from '@mozaiks/bus';
import type { RuntimeConfig } from '@mozaiks/config';
import { subjects } from '@mozaiks/protocol';
import type { ChatStores } from '@mozaiks/store';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import { Gateway } from './gateway.js';

export function verifierFromConfig(config: RuntimeConfig): LaunchTokenVerifier {
  return new LaunchTokenVerifier({
    ...(config.JWT_SECRET ? { secret: config.JWT_SECRET } : {}),
    ...(config.JWT_PUBLIC_KEY ? { publicKey: config.JWT_PUBLIC_KEY } : {}),
    ...(config.JWT_JWKS_URL ? { jwksUrl: config.JWT_JWKS_URL } : {}),
    ...(config.JWT_MAX_LIFETIME_SECONDS ? { maxLifetimeSeconds: config.JWT_MAX_LIFETIME_SECONDS } : {}),
    ...(config.JWT_ALGORITHMS ? { algorithms: config.JWT_ALGORITHMS } : {}),
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    audience: config.JWT_AUDIENCE,
  });
}

/** What the gateway is built from besides its configuration. */
export interface GatewayParts {
  bus: Bus;
  stores: ChatStores;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Whether the runtime behind the gateway can take work, for /ready. */
  isReady?: () => boolean;
}

/** The gateway as the configuration describes it: the same in its own process and in standalone. */
export function gatewayFromConfig(
  config: RuntimeConfig,
  parts: GatewayParts & { consoleByDefault?: boolean },
): Gateway {
  return new Gateway({
    verifier: verifierFromConfig(config),
    bus: parts.bus,
    metrics: parts.metrics,
    logger: parts.logger,
    log: parts.stores.log,
    inbox: parts.stores.inbox,
    catalog: parts.stores.catalog,
    ...(parts.bus instanceof NatsBus ? { usageStreams: parts.bus } : {}),
    subjects: subjects(config.SUBJECT_PREFIX),
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    doubleTexting: config.DOUBLE_TEXTING,
    limits: {
      connectionsPerUser: config.WS_MAX_CONNECTIONS_PER_USER,
      connectionsPerApp: config.WS_MAX_CONNECTIONS_PER_APP,
      messagesPerMinute: config.USER_MESSAGES_PER_MINUTE,
    },
    ...(parts.isReady ? { isReady: parts.isReady } : {}),
    console: config.CONSOLE_ENABLED ?? parts.consoleByDefault ?? false,
  });
}
