// W3C trace context (`traceparent`) for work that crosses services: a user message starts a trace
// at the gateway, and every bus message it causes carries the same trace id with a span of its own.
import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A traceparent for a new trace. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** A traceparent for a new span in `parent`'s trace, or a new trace when `parent` is not valid. */
export function childTraceparent(parent: string | undefined): string {
  const match = parent?.match(TRACEPARENT);
  return match ? `00-${match[1]}-${randomBytes(8).toString('hex')}-${match[3]}` : newTraceparent();
}

/** The trace id of a traceparent, for log lines. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent?.match(TRACEPARENT)?.[1];
}
