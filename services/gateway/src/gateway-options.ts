// The gateway's options, and the same with every default filled in, resolved once when the
// gateway is made: everything after reads the filled type.
import type { LaunchTokenVerifier } from '@mozaiks/auth';
import type { UsageStreams } from '@mozaiks/chat-admin';
import type { Bus } from '@mozaiks/bus';
import type { Subjects } from '@mozaiks/protocol';
import type { ChatCatalog, ChatInbox, ChatLog } from '@mozaiks/store';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import type { DoorLimitSettings } from './door-limits.js';

export interface GatewayOptions {
  verifier: LaunchTokenVerifier;
  bus: Bus;
  /** Where missed events are read back from. */
  log: ChatLog;
  /** Where user messages are accepted, in order. */
  inbox: ChatInbox;
  subjects: Subjects;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Largest frame a client may send. @default 1 MiB */
  maxMessageBytes?: number;
  /** Interval of WebSocket pings that detect dead peers. @default 30000 */
  heartbeatMs?: number;
  /** Bytes held for one socket that reads too slowly before it is closed with 4008. @default 8 MiB */
  maxBufferedBytes?: number;
  /** Time a replay waits for a slow socket to drain before closing it with 4008. @default 30000 */
  drainTimeoutMs?: number;
  /** Leeway after a token's `exp` before its open socket is closed with 4001 (as at the handshake). @default 5000 */
  tokenLeewayMs?: number;
  /** A message sent while the chat's run is going: queued, refused, or cancelling the run. @default 'enqueue' */
  doubleTexting?: 'enqueue' | 'reject' | 'interrupt';
  /** Whether the runtime behind the gateway can take work, for /ready. @default always */
  isReady?: () => boolean;
  /** Serve the web console at /console (CONSOLE_ENABLED). @default false */
  console?: boolean;
  /** Sockets and messages allowed per user and app on this gateway. @default none limited */
  limits?: DoorLimitSettings;
  /** Many chats of an app at once: with it, the gateway serves the API over chats under `/v1/`. @default no API */
  catalog?: ChatCatalog;
  /** On NATS: the usage streams, where erasing a user also removes their dead letters (and billing records). */
  usageStreams?: UsageStreams;
}

type Optional = 'catalog' | 'usageStreams';
export type GatewayOptionsWithDefaults = Required<Omit<GatewayOptions, Optional>> & Pick<GatewayOptions, Optional>;

/** The options with their defaults filled in. */
export function gatewayOptionsWithDefaults(options: GatewayOptions): GatewayOptionsWithDefaults {
  return {
    maxMessageBytes: 1024 * 1024,
    heartbeatMs: 30_000,
    maxBufferedBytes: 8 * 1024 * 1024,
    drainTimeoutMs: 30_000,
    tokenLeewayMs: 5000,
    doubleTexting: 'enqueue',
    isReady: () => true,
    console: false,
    limits: { connectionsPerUser: 0, connectionsPerApp: 0, messagesPerMinute: 0 },
    ...withoutUndefined(options),
  };
}

/** The options that were given (an explicit `undefined` takes the default). */
function withoutUndefined<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}
