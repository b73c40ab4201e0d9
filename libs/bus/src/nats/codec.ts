// How the bus's messages look on NATS: JSON payloads, a version and an id in the headers, and
// NATS's failures as the bus's own errors.
import { errors, headers as natsHeaders, nuid } from '@nats-io/transport-node';
import type { Msg, MsgHdrs } from '@nats-io/transport-node';
import { BusError } from '../bus.js';
import type { BusMessage, Headers } from '../bus.js';
import { errorMessage } from '@mozaiks/common';

/** Header carrying the version of the payload's shape. */
export const VERSION_HEADER = 'Mozaiks-Version';
/** Header carrying the message's id (JetStream de-duplicates on Nats-Msg-Id as well). */
export const MESSAGE_ID_HEADER = 'Mozaiks-Msg-Id';
/** Header on a reply whose handler failed, with its message. */
export const ERROR_HEADER = 'Mozaiks-Error';

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** Milliseconds as JetStream's nanoseconds. */
export const nanos = (ms: number) => ms * 1_000_000;

export function toNatsHeaders(headers: Headers = {}, msgId?: string): MsgHdrs {
  const hdrs = natsHeaders();
  hdrs.set(VERSION_HEADER, '1');
  hdrs.set(MESSAGE_ID_HEADER, msgId ?? nuid.next());
  for (const [k, v] of Object.entries(headers)) hdrs.set(k, v);
  return hdrs;
}

export function fromNatsHeaders(hdrs: MsgHdrs | undefined): Headers {
  const out: Headers = {};
  if (!hdrs) return out;
  for (const [k, v] of hdrs) if (v[0] !== undefined) out[k] = v[0];
  return out;
}

export function toBusMessage<T>(msg: Msg): BusMessage<T> {
  return {
    subject: msg.subject,
    data: (msg.data.length ? JSON.parse(decoder.decode(msg.data)) : undefined) as T,
    headers: fromNatsHeaders(msg.headers),
  };
}

/** A NATS failure of a request on `subject` as a BusError saying which. */
export function toBusError(error: unknown, subject: string, timeoutMs: number): BusError {
  const chain = [error, (error as { cause?: unknown })?.cause];
  if (chain.some((e) => e instanceof errors.NoRespondersError))
    return new BusError('no_responders', `no service answers ${subject}`, { cause: error });
  if (chain.some((e) => e instanceof errors.TimeoutError))
    return new BusError('timeout', `request to ${subject} timed out after ${timeoutMs} ms`, { cause: error });
  if (chain.some((e) => e instanceof errors.ClosedConnectionError || e instanceof errors.DrainingConnectionError))
    return new BusError('closed', 'bus is closed', { cause: error });
  const message = errorMessage(error);
  return new BusError('remote_error', `request to ${subject} failed: ${message}`, { cause: error });
}
