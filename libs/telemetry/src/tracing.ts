// Traces with OpenTelemetry: one trace per user message, from the gateway through NATS (W3C
// `traceparent` headers) to the executor, its LLM calls, the tool-runner and the usage-emitter.
// With OTEL_EXPORTER_OTLP_ENDPOINT set, `startTracing` loads the Node SDK and exports spans over
// OTLP/HTTP; without it nothing of the SDK is loaded, spans are the API's no-ops, and only the
// ids are made here, so headers and log lines still carry a trace id. The API and its propagator
// are loaded with the SDK too: a process without tracing does not load them (some 30 ms of start).
import { randomFillSync } from 'node:crypto';
import type * as OtelApi from '@opentelemetry/api';
import type { Attributes, Context, Span, SpanContext } from '@opentelemetry/api';
import type { W3CTraceContextPropagator } from '@opentelemetry/core';
import { errorMessage } from '@mozaiks/common';
import { parseEnvBoolean } from '@mozaiks/protocol';

/** OpenTelemetry's span kinds, by the API's numbers. */
export const SpanKind = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

const TRACER = 'mozaiks-runtime';

/** The API and the W3C propagator, loaded when tracing starts. */
let otel: { api: typeof OtelApi; w3c: W3CTraceContextPropagator } | undefined;
function loadOtel(): { api: typeof OtelApi; w3c: W3CTraceContextPropagator } {
  /* eslint-disable @typescript-eslint/no-require-imports */
  otel ??= {
    api: require('@opentelemetry/api') as typeof OtelApi,
    w3c: new (require('@opentelemetry/core') as typeof import('@opentelemetry/core')).W3CTraceContextPropagator(),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return otel;
}

/** Whether an SDK records spans (startTracing registered one); until then spans are ids only. */
let recording = false;

/** A W3C traceparent: version, trace id, parent span id, flags. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The trace id and flags of a valid traceparent. */
function parseTraceparent(traceparent: string | undefined): { traceId: string; flags: string } | undefined {
  const m = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!m || m[1] === 'ff' || m[2] === ZERO_TRACE || m[3] === ZERO_SPAN) return undefined;
  return { traceId: m[2]!, flags: m[4]! };
}

/** Random ids from a pool refilled 4 KiB at a time: one system call per hundreds of ids. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += bytes;
  return pool.toString('hex', poolAt - bytes, poolAt);
}

const noop = () => undefined;

/** A span nothing records: ids in the parent's trace (or a new one), for headers and log lines. */
function idsOnly(parent: string | undefined): TraceSpan {
  const of = parseTraceparent(parent);
  const traceId = of?.traceId ?? randomHex(16);
  return {
    traceparent: `00-${traceId}-${randomHex(8)}-${of?.flags ?? '01'}`,
    traceId,
    set: noop,
    fail: noop,
    end: noop,
    within: (work) => work(),
  };
}

function format(span: SpanContext): string {
  const { api, w3c } = loadOtel();
  const carrier: Record<string, string> = {};
  w3c.inject(api.trace.setSpanContext(api.ROOT_CONTEXT, span), carrier, api.defaultTextMapSetter);
  return carrier.traceparent!;
}

function contextOf(traceparent: string | undefined): Context | undefined {
  if (!traceparent) return undefined;
  const { api, w3c } = loadOtel();
  const extracted = w3c.extract(api.ROOT_CONTEXT, { traceparent }, api.defaultTextMapGetter);
  const span = api.trace.getSpanContext(extracted);
  return span && api.isSpanContextValid(span) ? extracted : undefined;
}

/** One span: its `traceparent` is what goes into bus headers and the inbox for its children. */
export interface TraceSpan {
  readonly traceparent: string;
  readonly traceId: string;
  set(attributes: Attributes): void;
  /** Ends the span as failed, with the error's message (never its payload). */
  fail(error: unknown): void;
  end(attributes?: Attributes): void;
  /** Runs `work` with this span as the active one, so spans started inside are its children. */
  within<T>(work: () => T): T;
}

/**
 * Starts a span under `parent` (a traceparent), else under the active span, else as a new trace.
 * A span the SDK does not record (tracing off) still gets ids of its own in the parent's trace.
 */
export function startSpan(
  name: string,
  options: { parent?: string; kind?: SpanKind; attributes?: Attributes } = {},
): TraceSpan {
  // Without an SDK the API's spans are no-ops: skip building them (and their contexts) at all.
  if (!recording) return idsOnly(options.parent);
  const { api } = loadOtel();
  const { trace, context } = api;
  const parentContext = contextOf(options.parent) ?? context.active();
  const span: Span = trace
    .getTracer(TRACER)
    .startSpan(
      name,
      { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) },
      parentContext,
    );
  let ids = span.spanContext();
  if (!span.isRecording()) {
    const parentIds = trace.getSpanContext(parentContext);
    const valid = parentIds && api.isSpanContextValid(parentIds) ? parentIds : undefined;
    ids = {
      traceId: valid?.traceId ?? randomHex(16),
      spanId: randomHex(8),
      traceFlags: valid?.traceFlags ?? api.TraceFlags.SAMPLED,
    };
  }
  const traceparent = format(ids);
  const active = trace.setSpan(parentContext, span);
  return {
    traceparent,
    traceId: ids.traceId,
    set: (attributes) => void span.setAttributes(attributes),
    fail: (error) => {
      span.setStatus({
        code: api.SpanStatusCode.ERROR,
        message: errorMessage(error),
      });
      span.setAttribute('error.type', error instanceof Error ? error.name : 'error');
      span.end();
    },
    end: (attributes) => {
      if (attributes) span.setAttributes(attributes);
      span.end();
    },
    within: (work) => context.with(active, work),
  };
}

/** A traceparent for a new trace (a span that is ended at once: the message it marks was sent). */
export function newTraceparent(name = 'message'): string {
  const span = startSpan(name, { parent: undefined, kind: SpanKind.PRODUCER });
  span.end();
  return span.traceparent;
}

/**
 * The traceparent for a bus message sent in `parent`'s trace: a PRODUCER span named after what
 * is sent, ended at once; the receiver's span is its child. A new trace when `parent` is invalid.
 */
export function childTraceparent(parent: string | undefined, name = 'publish'): string {
  const span = startSpan(name, { ...(parent === undefined ? {} : { parent }), kind: SpanKind.PRODUCER });
  span.end();
  return span.traceparent;
}

/** The trace id of a traceparent, for log lines. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (!recording) return parseTraceparent(traceparent)?.traceId;
  const ctx = contextOf(traceparent);
  return ctx ? loadOtel().api.trace.getSpanContext(ctx)!.traceId : undefined;
}

/** Whether prompts and replies may be put on LLM spans (the GenAI conventions' opt-in). */
export function captureMessageContent(env: NodeJS.ProcessEnv = process.env): boolean {
  return parseEnvBoolean(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT) ?? false;
}

export interface Tracing {
  /** Whether spans are exported. */
  readonly enabled: boolean;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * Turns tracing on for `service` when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-only
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: the Node SDK with a batching OTLP/HTTP exporter,
 * which reads the standard OTEL_* variables (headers, timeouts, batch delays, sampler).
 */
export async function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
    return { enabled: false, shutdown: async () => undefined };
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME ?? `mozaiks-${service}`,
      'service.namespace': 'mozaiks',
      'service.version': '0.1.0',
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  recording = true;
  return {
    enabled: true,
    shutdown: async () => {
      await provider.shutdown();
      recording = false;
    },
  };
}
