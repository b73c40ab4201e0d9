// The NATS adapter against the Bus contract, on a private nats-server, plus what only NATS can
// show: messages between connections, stored work surviving a server restart, stream set-up.
import { startNatsServer } from '@mozaiks/testing';
import type { NatsServer } from '@mozaiks/testing';
import { busContract } from '../bus.contract';
import type { StreamSpec } from '../bus';
import { NatsBus } from './nats-bus';

const testStreams: StreamSpec[] = [
  {
    name: 'T_WORK',
    subjects: ['t.jobs.>', 't.dedupe.>', 't.slow.>', 't.bounded.>'],
    retention: 'workqueue',
    maxAgeMs: 60_000,
    duplicateWindowMs: 60_000,
  },
];

let server: NatsServer;
const opened: NatsBus[] = [];
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  for (const bus of opened) await bus.drain().catch(() => undefined);
  await server.dispose();
});

/** Errors the adapters reported; a test that expects none checks this stays empty. */
const reported: unknown[] = [];

async function open(name = 'test', streams = testStreams): Promise<NatsBus> {
  const bus = await NatsBus.connect({
    servers: server.url,
    name,
    streams,
    ackWaitMs: 2000,
    onError: (e) => void reported.push(e),
  });
  opened.push(bus);
  return bus;
}

busContract('NatsBus', { create: () => open() });

describe('NatsBus', () => {
  it('runs work once per key across connections (processes): the second gets the first result', async () => {
    const a = await open('a');
    const b = await open('b');
    let runs = 0;
    const work = async () => (runs++, await new Promise((r) => setTimeout(r, 150)), { sent: 'email', runs });
    const options = { ttlMs: 60_000, waitMs: 5000 };
    const [x, y] = await Promise.all([
      a.once('chat/c1/run_1:call_1', work, options),
      b.once('chat/c1/run_1:call_1', work, options),
    ]);
    expect(runs).toBe(1);
    expect(y).toEqual(x);
  });

  it('tells of a lost connection and its return, and calls reconnect listeners until they are removed', async () => {
    const statuses: string[] = [];
    const bus = await NatsBus.connect({
      servers: server.url,
      name: 'status',
      streams: testStreams,
      onStatus: (s) => void statuses.push(s.type),
    });
    opened.push(bus);
    let kept = 0;
    let removed = 0;
    bus.onReconnect(() => kept++);
    const off = bus.onReconnect(() => removed++);
    off();
    await server.stop();
    await server.start();
    const deadline = Date.now() + 10_000;
    while (!statuses.includes('reconnected') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(statuses).toEqual(['disconnected', 'reconnected']);
    expect([kept, removed]).toEqual([1, 0]);
  });

  it('carries messages, a version and a message id between two connections', async () => {
    const a = await open('a');
    const b = await open('b');
    const got: Array<{ data: unknown; headers: Record<string, string> }> = [];
    b.subscribe('t.x', (m) => void got.push({ data: m.data, headers: m.headers }));
    await new Promise((r) => setTimeout(r, 50));
    await a.publish(
      't.x',
      { hello: 'world' },
      { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
    );
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got[0]!.data).toEqual({ hello: 'world' });
    expect(got[0]!.headers).toMatchObject({
      'Mozaiks-Version': '1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(got[0]!.headers['Mozaiks-Msg-Id']).toMatch(/\w{10,}/);
  });

  it('keeps stored work across a server restart and delivers it after reconnecting', async () => {
    const producer = await open('producer');
    await producer.publish('t.jobs.restart', { n: 1 }, { msgId: 'restart-1' });
    await server.stop();
    await server.start();
    const consumer = await open('consumer');
    const seen: unknown[] = [];
    consumer.consume('t.jobs.>', 'workers', async (m) => void seen.push(m.data));
    for (let i = 0; i < 300 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([{ n: 1 }]);
    // The producer reconnected by itself.
    for (let i = 0; i < 300 && !producer.connected; i++) await new Promise((r) => setTimeout(r, 20));
    await producer.publish('t.jobs.restart', { n: 2 }, { msgId: 'restart-2' });
    for (let i = 0; i < 300 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("keeps a slow handler's message from being redelivered while it works", async () => {
    reported.length = 0;
    const bus = await open('slow');
    const deliveries: number[] = [];
    bus.consume('t.slow.one', 'slow-workers', async (_m, attempt) => {
      deliveries.push(attempt);
      await new Promise((r) => setTimeout(r, 5000)); // 2.5 × ack_wait
    });
    await bus.publish('t.slow.one', {}, { msgId: 'slow-1' });
    await new Promise((r) => setTimeout(r, 5500));
    expect(deliveries).toEqual([1]);
    expect(reported).toEqual([]);
  });

  it('keeps a once result that was ready while the server was away, for the call made again', async () => {
    const first = await open('once-a');
    const second = await open('once-b');
    let finish!: (value: { n: number }) => void;
    const running = first.once('away-1', () => new Promise<{ n: number }>((resolve) => (finish = resolve)), {
      ttlMs: 60_000,
      waitMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 300));
    await server.stop();
    // The work ends while NATS is away: its caller has the result, and so will a repeated call.
    finish({ n: 1 });
    await expect(running).resolves.toEqual({ n: 1 });
    await server.start();
    for (let i = 0; i < 300 && !second.connected; i++) await new Promise((r) => setTimeout(r, 20));
    await expect(second.once('away-1', async () => ({ n: 2 }), { ttlMs: 60_000, waitMs: 20_000 })).resolves.toEqual({
      n: 1,
    });
  });
});
