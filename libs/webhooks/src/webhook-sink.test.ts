// A webhook sink on a private nats-server, delivering to a real HTTP receiver in the test that
// checks each signature by the Standard Webhooks rule itself (HMAC-SHA256 of id.timestamp.body).
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { NatsBus } from '@mozaiks/bus';
import { runtimeStreams } from '@mozaiks/service';
import { UsageDeadLetter, subjects } from '@mozaiks/protocol';
import type { UsageUpdateEvent } from '@mozaiks/protocol';
import { RuntimeMetrics, createLogger } from '@mozaiks/telemetry';
import { startNatsServer } from '@mozaiks/testing';
import type { NatsServer } from '@mozaiks/testing';
import { WebhookSink, backoffMs } from './index';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const wiring = subjects('mozaiks');

interface Delivery {
  id: string;
  timestamp: number;
  body: string;
  verified: boolean;
  at: number;
}

/** A receiver that answers each delivery with what `answer` says and records it. */
async function receiver(
  answer: (d: Delivery, n: number) => { status: number; headers?: Record<string, string>; delayMs?: number },
): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const timestamp = Number(req.headers['webhook-timestamp']);
      const expected = createHmac('sha256', Buffer.from(SECRET.slice(6), 'base64'))
        .update(`${id}.${timestamp}.${body}`)
        .digest('base64');
      const verified = String(req.headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
      const delivery = { id, timestamp, body, verified, at: Date.now() };
      deliveries.push(delivery);
      const reply = answer(delivery, deliveries.filter((d) => d.id === id).length);
      setTimeout(() => res.writeHead(reply.status, reply.headers ?? {}).end(), reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/billing/usage?token=abc`,
    deliveries,
    server,
  };
}

function usageEvent(run: string): UsageUpdateEvent {
  return {
    type: 'usage_update',
    chat_id: 'chat_1',
    event_id: `usage_${run}`,
    timestamp: new Date().toISOString(),
    seq: 3,
    user_id: 'user_1',
    app_id: 'app_1',
    workflow_id: 'hello',
    run_id: run,
    tokens: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    total_tokens: 15,
    cost_usd: 0.0001,
    models: [
      { model: 'gpt-4o-mini', calls: 1, prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cost_usd: 0.0001 },
    ],
  };
}

let nats: NatsServer;
let bus: NatsBus;
let logs: string;
let metrics: RuntimeMetrics;
const sinks: WebhookSink[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats.dispose();
});
beforeEach(async () => {
  bus = await NatsBus.connect({
    servers: nats.url,
    name: 'webhook-test',
    streams: runtimeStreams('mozaiks'),
    ackWaitMs: 5000,
  });
  logs = '';
  metrics = new RuntimeMetrics({ processMetrics: false });
});
afterEach(async () => {
  for (const sink of sinks.splice(0)) await sink.stop();
  for (const server of servers.splice(0)) server.close();
  // Each test starts from an empty stream and no consumers.
  const jsm = await (await import('@nats-io/jetstream')).jetstreamManager(bus.connection);
  for (const stream of ['MOZAIKS_USAGE', 'MOZAIKS_USAGE_DEAD']) {
    for (const c of await jsm.consumers.list(stream).next()) await jsm.consumers.delete(stream, c.name);
    await jsm.streams.purge(stream);
  }
  await bus.drain();
});

/** A started sink: its consumer exists, so every event published after this resolves reaches it. */
async function sink(url: string, options: { retryForMs?: number; concurrency?: number } = {}): Promise<WebhookSink> {
  const logger = createLogger({
    service: 'usage-emitter',
    level: 'debug',
    secrets: [SECRET],
    destination: new Writable({ write: (c, _e, done) => ((logs += c.toString()), done()) }),
  });
  const s = new WebhookSink({
    url,
    secret: SECRET,
    timeoutMs: 2000,
    concurrency: options.concurrency ?? 8,
    retryForMs: options.retryForMs ?? 3_600_000,
    bus,
    subjects: wiring,
    logger,
    metrics,
  });
  sinks.push(s);
  await s.start();
  return s;
}

const publish = (event: UsageUpdateEvent) =>
  bus.publish(wiring.usage(event.app_id, event.user_id), event, { msgId: event.event_id });

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function metric(name: string): Promise<string> {
  return (await metrics.render()).body
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');
}

describe('WebhookSink', () => {
  it('POSTs each event as published, signed as Standard Webhooks, with its event id as webhook-id, from now on', async () => {
    const before = usageEvent('run_before');
    await publish(before);
    const r = await receiver(() => ({ status: 204 }));
    servers.push(r.server);
    await sink(r.url);
    const events = [usageEvent('run_a'), usageEvent('run_b')];
    for (const e of events) await publish(e);
    await until(() => r.deliveries.length === 2, 5000, 'two deliveries');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The stream's past is for `mozaiks usage replay`, not a new endpoint's first minutes.
    expect(r.deliveries.map((d) => d.id).sort()).toEqual(['usage_run_a', 'usage_run_b']);
    for (const d of r.deliveries) {
      expect(d.verified).toBe(true);
      expect(Math.abs(d.timestamp - Date.now() / 1000)).toBeLessThan(10);
      expect(d.body).toBe(JSON.stringify(events.find((e) => e.event_id === d.id)));
    }
    expect(await metric('usage_webhook_deliveries_total')).toContain('usage_webhook_deliveries_total{sink="127.0.0.1');
    expect(await metric('usage_webhook_delivery_seconds_count')).toMatch(/ 2$/m);
    // The endpoint's path and query (a token here) are in no log line; its host is.
    expect(logs).not.toContain('token=abc');
    expect(logs).not.toContain(SECRET);
  });

  it('retries 5xx, 429 (after its Retry-After) and timeouts with the same webhook-id, warning per attempt', async () => {
    const r = await receiver((d, n) =>
      d.id === 'usage_run_limited'
        ? n === 1
          ? { status: 429, headers: { 'retry-after': '1' } }
          : { status: 200 }
        : n === 1
          ? { status: 503 }
          : n === 2
            ? { status: 200, delayMs: 3000 }
            : { status: 200 },
    );
    servers.push(r.server);
    await sink(r.url);
    await publish(usageEvent('run_flaky'));
    await publish(usageEvent('run_limited'));
    // run_flaky: 503, then a reply slower than the 2 s timeout, then 200.
    await until(
      () =>
        r.deliveries.filter((d) => d.id === 'usage_run_flaky').length === 3 &&
        r.deliveries.filter((d) => d.id === 'usage_run_limited').length === 2,
      20_000,
      'the retries',
    );
    const limited = r.deliveries.filter((d) => d.id === 'usage_run_limited');
    expect(limited[1]!.at - limited[0]!.at).toBeGreaterThanOrEqual(950);
    expect(r.deliveries.every((d) => d.verified)).toBe(true);
    const warnings = logs.split('\n').filter((l) => l.includes('usage webhook attempt failed; retrying'));
    expect(warnings.map((l) => JSON.parse(l).reason).sort()).toEqual(['429', '503', 'timeout']);
    expect(warnings.every((l) => JSON.parse(l).sink === new URL(r.url).host && JSON.parse(l).level === 'WARN')).toBe(
      true,
    );
    expect(await metric('usage_webhook_retries_total')).toMatch(/reason="429"/);
  });

  it('dead-letters an event its endpoint refuses (400) at once, and one still failing past the retry window', async () => {
    const r = await receiver((d) =>
      d.id === 'usage_run_bad' ? { status: 400 } : d.id === 'usage_run_down' ? { status: 502 } : { status: 200 },
    );
    servers.push(r.server);
    const s = await sink(r.url, { retryForMs: 2500 });
    for (const run of ['run_bad', 'run_ok', 'run_down']) await publish(usageEvent(run));
    const letters: UsageDeadLetter[] = [];
    await until(
      () => logs.split('\n').filter((l) => l.includes('usage webhook dead-lettered')).length === 2,
      20_000,
      'two dead letters',
    );
    for await (const m of bus.read(wiring.usageDeadLetters(s.id))) letters.push(UsageDeadLetter.parse(m.data));
    expect(letters.map((l) => [l.event_id, l.last_status, l.sink]).sort()).toEqual([
      ['usage_run_bad', 400, new URL(r.url).host],
      ['usage_run_down', 502, new URL(r.url).host],
    ]);
    expect(letters.find((l) => l.event_id === 'usage_run_bad')!.attempts).toBe(1);
    expect(letters.find((l) => l.event_id === 'usage_run_down')!.attempts).toBeGreaterThan(1);
    expect(r.deliveries.filter((d) => d.id === 'usage_run_bad')).toHaveLength(1);
    expect(
      logs
        .split('\n')
        .filter((l) => l.includes('dead-lettered'))
        .every((l) => JSON.parse(l).level === 'ERROR'),
    ).toBe(true);
    expect(await metric('usage_webhook_dead_letters_total')).toMatch(/ 2$/m);
  });

  it('keeps endpoints apart: one that hangs delays neither another nor the next events', async () => {
    const slow = await receiver(() => ({ status: 200, delayMs: 1500 }));
    const fast = await receiver(() => ({ status: 200 }));
    servers.push(slow.server, fast.server);
    await sink(slow.url, { concurrency: 1 });
    await sink(fast.url);
    const started = Date.now();
    for (let i = 0; i < 5; i++) await publish(usageEvent(`run_${i}`));
    await until(() => fast.deliveries.length === 5, 5000, 'the fast endpoint');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(slow.deliveries.length).toBeLessThan(5);
  });
});

describe('backoffMs', () => {
  it('doubles from 1 s up to 5 min, jittered below its ceiling, never under 250 ms', () => {
    expect([1, 2, 3, 10, 30].map((n) => backoffMs(n, () => 1))).toEqual([1000, 2000, 4000, 300_000, 300_000]);
    expect(backoffMs(3, () => 0)).toBe(250);
    expect(backoffMs(3, () => 0.5)).toBe(2000);
  });
});
