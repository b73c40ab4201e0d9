// W3C trace context (`traceparent`) for work that crosses services: a user message starts a trace
// at the gateway, every bus message it causes carries the same trace id with a span of its own in
// its headers, and the input keeps its trace in the inbox for the run that executes it later.
// Parsing and formatting are OpenTelemetry's W3C propagator; only the span ids are made here.
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, TraceFlags, defaultTextMapGetter, defaultTextMapSetter, isSpanContextValid, trace } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const w3c = new W3CTraceContextPropagator();

function format(context: SpanContext): string {
  const carrier: Record<string, string> = {};
  w3c.inject(trace.setSpanContext(ROOT_CONTEXT, context), carrier, defaultTextMapSetter);
  return carrier.traceparent!;
}

function parse(traceparent: string | undefined): SpanContext | undefined {
  if (!traceparent) return undefined;
  const context = trace.getSpanContext(w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter));
  return context && isSpanContextValid(context) ? context : undefined;
}

const spanId = () => randomBytes(8).toString('hex');

/** A traceparent for a new trace. */
export function newTraceparent(): string {
  return format({ traceId: randomBytes(16).toString('hex'), spanId: spanId(), traceFlags: TraceFlags.SAMPLED });
}

/** A traceparent for a new span in `parent`'s trace, or a new trace when `parent` is not valid. */
export function childTraceparent(parent: string | undefined): string {
  const context = parse(parent);
  return context ? format({ traceId: context.traceId, spanId: spanId(), traceFlags: context.traceFlags }) : newTraceparent();
}

/** The trace id of a traceparent, for log lines. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return parse(traceparent)?.traceId;
}
