// W3C trace context: children keep the trace and flags with a span of their own; bad input starts afresh.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { captureMessageContent, childTraceparent, newTraceparent, traceIdOf } from './tracing';

const SHAPE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

describe('trace context', () => {
  it('makes W3C traceparents whose children share the trace, with a span of their own', () => {
    const parent = newTraceparent();
    expect(parent).toMatch(SHAPE);
    const child = childTraceparent(parent);
    expect(traceIdOf(child)).toBe(traceIdOf(parent));
    expect(child.match(SHAPE)![2]).not.toBe(parent.match(SHAPE)![2]);
    expect(child.endsWith('-01')).toBe(true);
    // An unsampled trace stays unsampled.
    expect(childTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00')).toMatch(
      /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/,
    );
  });

  it('starts a new trace from a missing or invalid parent, and reads no trace id from one', () => {
    for (const bad of [undefined, '', 'nonsense', '00-00000000000000000000000000000000-b7ad6b7169203331-01']) {
      expect(traceIdOf(bad)).toBeUndefined();
      const fresh = childTraceparent(bad);
      expect(fresh).toMatch(SHAPE);
      expect(traceIdOf(fresh)).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});

describe('tracing switch', () => {
  const load = (env: Record<string, string>) => {
    // The built package, as a service process loads it.
    const built = path.join(__dirname, '../dist/index.js');
    const script = `const t = require(${JSON.stringify(built)});
      t.startTracing('probe').then(async (tracing) => {
        const loaded = Object.keys(require.cache).some((k) => k.includes('sdk-trace') || k.includes('exporter-trace'));
        await tracing.shutdown();
        process.stdout.write(JSON.stringify({ enabled: tracing.enabled, loaded }));
      });`;
    const out = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH!, ...env },
    });
    return JSON.parse(out.stdout) as { enabled: boolean; loaded: boolean };
  };

  it('loads no SDK without OTEL_EXPORTER_OTLP_ENDPOINT, and the SDK with it', () => {
    expect(load({})).toEqual({ enabled: false, loaded: false });
    expect(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })).toEqual({ enabled: true, loaded: true });
  });

  it('puts messages on LLM spans only when asked to', () => {
    expect(captureMessageContent({})).toBe(false);
    expect(captureMessageContent({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'true' })).toBe(true);
  });
});
