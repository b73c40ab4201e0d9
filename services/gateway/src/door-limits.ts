// Limits at the door, per gateway instance (a user's sockets on two gateways count apart): sockets
// per user and per app, and messages per user per minute as a token bucket. All off by default,
// so an upgrade refuses nothing that worked. A refusal is told with its own code, never a silent drop.
import { ErrorCode } from '@mozaiks/protocol';
import type { Tenant } from '@mozaiks/protocol';
import type { RuntimeMetrics } from '@mozaiks/telemetry';
import type { Counter } from 'prom-client';
import type { Refusal } from './handshake.js';

export interface DoorLimitSettings {
  /** Sockets one user may hold open here; 0: no limit. */
  connectionsPerUser: number;
  /** Sockets one app may hold open here; 0: no limit. */
  connectionsPerApp: number;
  /** Messages one user may send per minute here; 0: no limit. */
  messagesPerMinute: number;
}

interface DoorMetrics {
  connectionsRefused: Counter<'reason'>;
  messagesRateLimited: Counter;
}

function doorMetrics(metrics: RuntimeMetrics): DoorMetrics {
  return metrics.declare('gateway-door', (families) => ({
    connectionsRefused: families.counter(
      'connections_refused_total',
      'WebSocket handshakes refused at a connection limit, by reason (per_user, per_app).',
      ['reason'],
    ),
    messagesRateLimited: families.counter(
      'messages_rate_limited_total',
      'Messages refused with rate_limited (USER_MESSAGES_PER_MINUTE): neither stored nor run.',
    ),
  }));
}

/** A user's bucket: tokens left when last looked at, and when. */
interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets kept before full ones (those of users quiet for a minute) are dropped. */
const BUCKETS_BEFORE_PRUNING = 10_000;

export class DoorLimits {
  private readonly perUser = new Map<string, number>();
  private readonly perApp = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly metrics: DoorMetrics;

  constructor(
    private readonly settings: DoorLimitSettings,
    metrics: RuntimeMetrics,
  ) {
    this.metrics = doorMetrics(metrics);
  }

  /**
   * Counts a socket of `t` in, or refuses it (HTTP 429 `too_many_connections`). The returned
   * release counts it out; calling it again does nothing.
   */
  connect(t: Tenant): { release: () => void } | Refusal {
    const { connectionsPerUser: perUser, connectionsPerApp: perApp } = this.settings;
    const user = `${t.app_id}\u0000${t.user_id}`;
    if (perUser > 0 && (this.perUser.get(user) ?? 0) >= perUser) return this.refuse('per_user', perUser, 'user');
    if (perApp > 0 && (this.perApp.get(t.app_id) ?? 0) >= perApp) return this.refuse('per_app', perApp, 'app');
    add(this.perUser, user, 1);
    add(this.perApp, t.app_id, 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        add(this.perUser, user, -1);
        add(this.perApp, t.app_id, -1);
      },
    };
  }

  /** Takes one message of `t`'s allowance, or says how long until the next is allowed. */
  message(t: Tenant, now = performance.now()): { ok: true } | { ok: false; retryAfterMs: number } {
    const perMinute = this.settings.messagesPerMinute;
    if (perMinute <= 0) return { ok: true };
    const rate = perMinute / 60_000;
    const key = `${t.app_id}\u0000${t.user_id}`;
    const bucket = this.buckets.get(key) ?? { tokens: perMinute, at: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    if (this.buckets.size >= BUCKETS_BEFORE_PRUNING && !this.buckets.has(key)) this.prune(now, rate);
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    this.metrics.messagesRateLimited.inc();
    return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / rate) };
  }

  private refuse(reason: 'per_user' | 'per_app', limit: number, whose: 'user' | 'app'): Refusal {
    this.metrics.connectionsRefused.inc({ reason });
    return {
      status: 429,
      code: ErrorCode.TooManyConnections,
      message: `this ${whose} has ${limit} socket(s) open on this server already, the most it may; close one first`,
    };
  }

  /** Drops the buckets that have filled up again: the same as having none. */
  private prune(now: number, rate: number): void {
    const full = this.settings.messagesPerMinute;
    for (const [key, b] of this.buckets) if (b.tokens + (now - b.at) * rate >= full) this.buckets.delete(key);
  }
}

function add(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}
