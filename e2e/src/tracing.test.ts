// OpenTelemetry traces across the distributed services: one user message is one trace, from the
// gateway through NATS to the executor, its LLM calls (GenAI conventions), the tool-runner and
// the usage-emitter, exported over OTLP/HTTP to a receiver in this test.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WsTestClient, mintToken } from '@mozaiks/testing';
import type { CompletionRequestBody } from '@mozaiks/llm';
import { startCluster } from './cluster';
import type { Cluster } from './cluster';

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number };
};
type Span = {
  service: string;
  traceId: string;
  spanId: string;
  parent: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
};

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;
const SECRET_WORDS = 'my private question about the time';

/** An OTLP/HTTP (JSON) trace receiver: what the services export, flattened. */
async function startReceiver(): Promise<{ url: string; spans: Span[]; bodies: string[]; server: Server }> {
  const spans: Span[] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      const payload = JSON.parse(body) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: OtlpValue }> };
          scopeSpans: Array<{ spans: OtlpSpan[] }>;
        }>;
      };
      for (const rs of payload.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            const attributes = Object.fromEntries(
              s.attributes.map((a) => [
                a.key,
                a.value.stringValue ??
                  (a.value.intValue !== undefined
                    ? Number(a.value.intValue)
                    : (a.value.doubleValue ?? a.value.boolValue)),
              ]),
            );
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parent: s.parentSpanId || undefined,
              name: s.name,
              kind: s.kind,
              attributes,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, bodies, server };
}

/** The hello workflow's model: the clock tool first, then an answer. */
function clockModel(request: CompletionRequestBody) {
  const last = request.messages[request.messages.length - 1]!;
  if (last.role === 'tool') return { content: 'It is noon.', usage: { prompt_tokens: 40, completion_tokens: 4 } };
  return {
    tool_calls: [{ name: 'current_time', arguments: '{}' }],
    usage: { prompt_tokens: 30, completion_tokens: 5 },
  };
}

describe('OpenTelemetry traces', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let cluster: Cluster;

  beforeAll(async () => {
    receiver = await startReceiver();
    cluster = await startCluster({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' },
    });
    cluster.llm.setFallback(clockModel);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    receiver?.server.close();
  });

  it('follows one user message across the four services, with parent links and GenAI attributes', async () => {
    const client = await WsTestClient.connect(
      cluster.wsUrl(0, await mintToken({ claims: { workflow_id: 'hello', chat_id: 'chat_traced' } })),
    );
    const events = await client.exchange(SECRET_WORDS);
    expect(events.find((e) => e.type === 'agent_message')?.content).toBe('It is noon.');
    await client.close();

    const root = await waitFor(() =>
      receiver.spans.find((s) => s.name === 'chat user_message' && s.attributes['mozaiks.chat_id'] === 'chat_traced'),
    );
    const inTrace = () => receiver.spans.filter((s) => s.traceId === root.traceId);
    await waitFor(() => (new Set(inTrace().map((s) => s.service)).size === 4 ? true : undefined));
    const spans = inTrace();
    const one = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect([name, found.length]).toEqual([name, 1]);
      return found[0]!;
    };
    const parentOf = (s: Span) => spans.find((p) => p.spanId === s.parent);

    expect(root).toMatchObject({ service: 'mozaiks-gateway', parent: undefined, kind: SERVER });
    const run = one('workflow.run hello');
    expect(run).toMatchObject({ service: 'mozaiks-executor', parent: root.spanId, kind: CONSUMER });
    expect(run.attributes).toMatchObject({
      'mozaiks.chat_id': 'chat_traced',
      'gen_ai.usage.input_tokens': 70,
      'gen_ai.usage.output_tokens': 9,
    });

    const llm = spans.filter((s) => s.name === 'chat gpt-4o-mini');
    expect(llm).toHaveLength(2);
    for (const call of llm) {
      expect(call).toMatchObject({ service: 'mozaiks-executor', parent: run.spanId, kind: CLIENT });
      expect(call.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' });
      expect(call.attributes['gen_ai.input.messages']).toBeUndefined();
    }
    expect(llm.map((c) => c.attributes['gen_ai.usage.input_tokens']).sort()).toEqual([30, 40]);

    const tool = one('execute_tool current_time');
    expect(tool).toMatchObject({ service: 'mozaiks-tool-runner', kind: SERVER });
    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'current_time',
    });
    expect(parentOf(tool)).toMatchObject({
      service: 'mozaiks-executor',
      name: 'publish mozaiks.tool.*.*',
      kind: PRODUCER,
      parent: run.spanId,
    });

    const usage = await waitFor(() => inTrace().find((s) => s.name.startsWith('usage.emit')));
    expect(usage).toMatchObject({ service: 'mozaiks-usage-emitter', kind: CONSUMER });
    expect(usage.attributes).toMatchObject({ 'mozaiks.chat_id': 'chat_traced', 'gen_ai.usage.input_tokens': 70 });
    expect(inTrace().find((s) => s.spanId === usage.parent)).toMatchObject({
      service: 'mozaiks-executor',
      name: 'publish mozaiks.metering.*',
      kind: PRODUCER,
    });

    // No prompt text leaves the runtime unless asked for, and the logs carry the same trace id.
    expect(receiver.bodies.join('\n')).not.toContain(SECRET_WORDS);
    const gatewayLog = cluster.services.gateway[0]!.output.split('\n').find(
      (l) => l.includes('user message received') && l.includes('chat_traced'),
    )!;
    expect(JSON.parse(gatewayLog).trace_id).toBe(root.traceId);
    expect(cluster.services.executor[0]!.output).toContain(`"trace_id":"${root.traceId}"`);
  });
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('spans did not arrive');
    await new Promise((r) => setTimeout(r, 50));
  }
}
