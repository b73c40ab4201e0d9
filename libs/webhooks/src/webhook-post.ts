// One webhook delivery: the event POSTed as signed JSON (Standard Webhooks: webhook-id is the
// event's id, stable across retries and replays), what came of it, and how long to wait before
// trying again. Shared by the usage-emitter's sinks and `mozaiks usage replay`.
import { createHash } from 'node:crypto';
import type { Webhook } from 'standardwebhooks';
import { backoffDelay } from '@mozaiks/common';

/** What one attempt came to: delivered (2xx), worth retrying (5xx, 408, 429, timeout, no connection), or not (other statuses). */
export type WebhookAttempt =
  | { outcome: 'delivered'; status: number }
  | { outcome: 'retry'; status?: number; reason: string; retryAfterMs?: number }
  | { outcome: 'refused'; status: number; reason: string };

/** A sink's id, which names its consumer and its dead letters: a hash of its URL. */
export function sinkId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** How logs and metrics name a sink: its host. Its path and query may hold credentials. */
export function sinkHost(url: string): string {
  return new URL(url).host;
}

/** The subject token naming an event among a sink's dead letters (event ids may hold any character). */
export function deadLetterKey(eventId: string): string {
  return createHash('sha256').update(eventId).digest('hex').slice(0, 32);
}

/** POSTs one event, signed with `signer`, and says what came of it. Never throws. */
export async function postWebhook(
  url: string,
  signer: Webhook,
  id: string,
  body: string,
  timeoutMs: number,
): Promise<WebhookAttempt> {
  const now = new Date();
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'mozaiks-usage-emitter',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signer.sign(id, now, body),
      },
      body,
      // A redirect is the endpoint's misconfiguration, never followed with a signed body.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The connection is reused only once the body is read.
    await response.arrayBuffer().catch(() => undefined);
  } catch (error) {
    // The timeout's abort comes as a DOMException named TimeoutError.
    const name = (error as { name?: unknown } | null)?.name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    return { outcome: 'retry', reason: timedOut ? 'timeout' : 'connection' };
  }
  const { status } = response;
  if (status >= 200 && status < 300) return { outcome: 'delivered', status };
  if (status >= 500 || status === 408 || status === 429) {
    const retryAfterMs = retryAfter(response.headers.get('retry-after'));
    return {
      outcome: 'retry',
      status,
      reason: String(status),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  return { outcome: 'refused', status, reason: String(status) };
}

/** `Retry-After` in milliseconds from now: seconds, or an HTTP date. */
function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The wait before attempt `attempt + 1`: exponential from 1 s up to `maxMs`, with full jitter (never under 250 ms). */
export function backoffMs(attempt: number, random: () => number = Math.random, maxMs = 300_000): number {
  return Math.max(250, backoffDelay({ initialMs: 1000, maxMs, jitter: 'full' }, attempt, random));
}
