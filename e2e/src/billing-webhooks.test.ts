// Billing over webhooks, as a billing team sees it: a real HTTP receiver that checks each signature
// by the Standard Webhooks rule, fails some first attempts, goes away for 20 s, while the
// usage-emitter is killed with SIGKILL mid-load; then a refused event, listed and replayed by the
// `mozaiks usage` commands; and the client's usage_update, which never waits for a webhook.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { WsTestClient, freePort, mintToken } from '@mozaiks/testing';
import { startCluster } from './cluster';
import type { Cluster } from './cluster';
import { REPO_ROOT } from './harness';

const SECRET = `whsec_${Buffer.from('billing-e2e-secret-0123456789abcdef').toString('base64')}`;
const BIN = path.join(REPO_ROOT, 'services/cli/bin/mozaiks.js');

/** A billing endpoint: verifies, de-duplicates by webhook-id, and answers as the test says. */
class Receiver {
  /** Bodies accepted (2xx), by webhook-id: the receiver's ledger. */
  readonly accepted = new Map<string, string>();
  /** Every request, in arrival order. */
  readonly requests: Array<{ id: string; verified: boolean; status: number }> = [];
  /** Chooses the answer to a verified delivery; 200 by default. */
  answer: (id: string, body: Record<string, unknown>, attempt: number) => number = () => 200;
  /** Answer after this many ms. */
  delayMs = 0;
  private server: Server | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/usage`;
  }

  async up(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        const ts = String(req.headers['webhook-timestamp']);
        const expected = createHmac('sha256', Buffer.from(SECRET.slice('whsec_'.length), 'base64'))
          .update(`${id}.${ts}.${body}`)
          .digest('base64');
        const verified =
          String(req.headers['webhook-signature']).split(' ').includes(`v1,${expected}`) &&
          Math.abs(Number(ts) - Date.now() / 1000) < 300;
        const attempt = this.requests.filter((r) => r.id === id).length + 1;
        const status = !verified ? 401 : this.answer(id, JSON.parse(body) as Record<string, unknown>, attempt);
        this.requests.push({ id, verified, status });
        if (status >= 200 && status < 300) {
          // A receiver de-duplicates on webhook-id: a repeat is acknowledged and not booked twice.
          const before = this.accepted.get(id);
          if (before !== undefined && before !== body) throw new Error(`webhook ${id} came again with another body`);
          this.accepted.set(id, body);
        }
        setTimeout(() => res.writeHead(status).end(), this.delayMs);
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  /** Stops answering: connections are refused until `up` again. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The usage events the NATS stream holds, as their bodies (what billing pipelines on NATS get). */
async function streamed(cluster: Cluster): Promise<Map<string, string>> {
  const consumer = await jetstream(cluster.observer.connection).consumers.get('MOZAIKS_USAGE');
  const out = new Map<string, string>();
  if ((await consumer.info()).num_pending === 0) return out;
  const messages = await consumer.fetch({ max_messages: 5000, expires: 3000 });
  for await (const m of messages) {
    out.set(String(m.json<{ event_id: string }>().event_id), m.string());
    if (m.info.pending === 0) break;
  }
  return out;
}

/** Runs `mozaiks usage …` as an operator would, with the usage-emitter's settings (the receiver answers meanwhile). */
function usageCli(
  cluster: Cluster,
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env = { ...cluster.services['usage-emitter'][0]!.env };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'usage', ...args],
      { env, encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

const fastReply = () => ({ content: 'noted', usage: { prompt_tokens: 40, completion_tokens: 8 } });

describe('usage webhooks', () => {
  let cluster: Cluster;
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = new Receiver(await freePort());
    await receiver.up();
  });
  afterEach(async () => {
    await cluster?.stop();
    await receiver.down();
  });

  const start = (env: Record<string, string> = {}) =>
    // Waits between attempts of at most 3 s, so that the test sees the deliveries that follow an outage soon.
    startCluster({
      env: {
        USAGE_WEBHOOK_URL: receiver.url,
        USAGE_WEBHOOK_SECRET: SECRET,
        USAGE_WEBHOOK_TIMEOUT_SECONDS: '3',
        USAGE_WEBHOOK_BACKOFF_MAX_SECONDS: '3',
        ...env,
      },
    });

  it('delivers every usage event of 200 chats once per id, through a SIGKILL of the usage-emitter and 20 s with the receiver down', async () => {
    cluster = await start();
    cluster.llm.setFallback(fastReply);
    // Every fifth event fails its first attempt.
    receiver.answer = (id, _body, attempt) =>
      attempt === 1 && [...id].reduce((h, c) => h + c.charCodeAt(0), 0) % 5 === 0 ? 503 : 200;
    const chats = Array.from({ length: 200 }, (_, i) => `chat_w${i}`);
    const clients: WsTestClient[] = [];
    for (let i = 0; i < chats.length; i += 50) {
      clients.push(
        ...(await Promise.all(
          chats
            .slice(i, i + 50)
            .map(async (chat) =>
              WsTestClient.connect(cluster.wsUrl(0, await mintToken({ claims: { chat_id: chat } }))),
            ),
        )),
      );
    }
    const done = () => clients.filter((c) => c.events.some((e) => e.type === 'usage_update')).length;
    // The first quarter goes out, then the usage-emitter dies mid-load and the receiver goes away.
    clients.slice(0, 50).forEach((c, i) => c.send({ type: 'user_message', content: `message ${i}` }));
    await until(() => receiver.accepted.size >= 10, 30_000, 'the first deliveries');
    const emitter = cluster.services['usage-emitter'][0]!;
    clients.slice(50).forEach((c, i) => c.send({ type: 'user_message', content: `message ${i + 50}` }));
    await emitter.kill('SIGKILL');
    await receiver.down();
    const downAt = Date.now();
    await cluster.add('usage-emitter');
    await until(() => done() === chats.length, 120_000, "every chat's usage_update");
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - downAt))));
    const refusedWhileDown = receiver.requests.length;
    await receiver.up();
    const upAt = Date.now();
    const stream = await streamed(cluster);
    expect(stream.size).toBe(chats.length);
    await until(() => receiver.accepted.size === stream.size, 180_000, 'every webhook delivered');
    const caughtUp = Date.now();

    // Each id booked once, with the body NATS carries; every request was signed right.
    for (const [id, body] of stream) expect(receiver.accepted.get(id)).toBe(body);
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    const repeats = receiver.requests.filter((r) => r.status === 200).length - receiver.accepted.size;
    process.stderr.write(
      `webhooks: ${stream.size} events, ${receiver.requests.length} requests (${receiver.requests.filter((r) => r.status === 503).length} answered 503, ${repeats} repeats of an id already booked after the SIGKILL), receiver down ${((upAt - downAt) / 1000).toFixed(1)} s, all delivered ${((caughtUp - upAt) / 1000).toFixed(1)} s after it came back (${refusedWhileDown} requests answered before)\n`,
    );
    const metrics = await (await fetch(`${cluster.services['usage-emitter'][1]!.url}/metrics`)).text();
    expect(metrics).toMatch(/^usage_webhook_retries_total\{sink="127\.0\.0\.1:\d+",reason="connection"\} [1-9]/m);
    expect(cluster.services['usage-emitter'][1]!.output).toMatch(
      /"level":"WARN"[^\n]*"sink":"127\.0\.0\.1:\d+"[^\n]*"message":"usage webhook attempt failed; retrying"/,
    );
    expect(cluster.services['usage-emitter'][1]!.output).not.toContain(SECRET);
    await Promise.all(clients.map((c) => c.close()));
  }, 400_000);

  it('lists an event its endpoint refused in usage dead-letters, and usage replay delivers it once the endpoint is fixed', async () => {
    cluster = await start();
    cluster.llm.setFallback(fastReply);
    const from = new Date(Date.now() - 60_000).toISOString();
    receiver.answer = (_id, body) => (body.chat_id === 'chat_refused' ? 400 : 200);
    const chats = ['chat_ok0', 'chat_refused', 'chat_ok1'];
    const clients = await Promise.all(
      chats.map(async (chat) => WsTestClient.connect(cluster.wsUrl(0, await mintToken({ claims: { chat_id: chat } })))),
    );
    const usages = await Promise.all(
      clients.map((c) => c.exchange('hello').then((events) => events.find((e) => e.type === 'usage_update')!)),
    );
    const refused = usages[1]!;
    await until(
      () => cluster.services['usage-emitter'][0]!.output.includes('usage webhook dead-lettered'),
      30_000,
      'the dead letter',
    );
    expect(cluster.services['usage-emitter'][0]!.output).toMatch(
      /"level":"ERROR"[^\n]*"status":400[^\n]*"message":"usage webhook dead-lettered/,
    );
    await until(() => receiver.accepted.size === 2, 30_000, 'the other two');

    const listed = await usageCli(cluster, ['dead-letters', '--json']);
    expect(listed).toMatchObject({ status: 0 });
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    ).toEqual([
      expect.objectContaining({
        event_id: refused.event_id,
        app_id: 'app_456',
        sink: `127.0.0.1:${receiver.port}`,
        attempts: 1,
        last_status: 400,
      }),
    ]);
    const table = await usageCli(cluster, ['dead-letters']);
    expect(table.stdout).toContain(String(refused.event_id));

    // The endpoint is fixed; the replay sends the period again with the same ids: the receiver
    // books the refused one and recognises the two it has.
    receiver.answer = () => 200;
    const replayed = await usageCli(cluster, ['replay', '--from', from]);
    if (replayed.status !== 0) process.stderr.write(`replay: ${replayed.stdout}${replayed.stderr}\n`);
    expect(replayed).toMatchObject({ status: 0 });
    expect(replayed.stdout).toContain(`127.0.0.1:${receiver.port}: 3 delivered`);
    expect(receiver.accepted.size).toBe(3);
    expect(JSON.parse(receiver.accepted.get(String(refused.event_id))!)).toMatchObject({
      event_id: refused.event_id,
      chat_id: 'chat_refused',
      total_tokens: refused.total_tokens,
      cost_usd: refused.cost_usd,
    });
    expect((await usageCli(cluster, ['dead-letters'])).stdout.trim()).toBe('no undelivered usage events');

    // The report adds up to what was delivered.
    const report = await usageCli(cluster, [
      'report',
      '--from',
      from,
      '--to',
      new Date(Date.now() + 60_000).toISOString(),
      '--json',
    ]);
    expect(report.status).toBe(0);
    const totals = JSON.parse(report.stdout) as {
      total: { events: number; total_tokens: number; cost_usd: number };
      apps: Record<string, unknown>;
      models: Record<string, { calls: number }>;
    };
    const delivered = [...receiver.accepted.values()].map(
      (b) => JSON.parse(b) as { total_tokens: number; cost_usd: number; models: Array<{ calls: number }> },
    );
    expect(totals.total.events).toBe(3);
    expect(totals.total.total_tokens).toBe(delivered.reduce((s, d) => s + d.total_tokens, 0));
    expect(totals.total.cost_usd).toBeCloseTo(
      delivered.reduce((s, d) => s + d.cost_usd, 0),
      9,
    );
    expect(Object.keys(totals.apps)).toEqual(['app_456']);
    expect(Object.values(totals.models).reduce((s, m) => s + m.calls, 0)).toBe(
      delivered.reduce((s, d) => s + d.models.reduce((n, m) => n + m.calls, 0), 0),
    );
    const readable = await usageCli(cluster, [
      'report',
      '--from',
      from,
      '--to',
      new Date(Date.now() + 60_000).toISOString(),
    ]);
    expect(readable.stdout).toMatch(/^usage from .*: 3 runs, \d+ tokens, \$\d+\.\d{6}$/m);
    expect(readable.stdout).toMatch(/^app_456\s+onboarding_flow\s+3\s/m);

    // Mistakes are said plainly.
    expect(await usageCli(cluster, ['replay'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--from') });
    expect(await usageCli(cluster, ['report', '--from', 'yesterday', '--to', from])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('not an ISO date'),
    });
    await Promise.all(clients.map((c) => c.close()));
  }, 200_000);

  it("adds no wait to the client's usage_update: a receiver that takes 5 s per webhook changes nothing the user sees", async () => {
    cluster = await start({ USAGE_WEBHOOK_CONCURRENCY: '1' });
    cluster.llm.setFallback(fastReply);
    const client = await WsTestClient.connect(
      cluster.wsUrl(0, await mintToken({ claims: { chat_id: 'chat_latency' } })),
    );
    const turns = async (n: number): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const started = performance.now();
        await client.exchange(`turn ${i}`);
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b);
    };
    const fast = await turns(15);
    receiver.delayMs = 5000;
    const slow = await turns(15);
    const p50 = (t: number[]) => t[Math.floor(t.length / 2)]!;
    process.stderr.write(
      `webhooks: turn to usage_update p50 ${p50(fast).toFixed(1)} ms with an instant receiver, ${p50(slow).toFixed(1)} ms with one taking 5 s per webhook (max ${slow.at(-1)!.toFixed(1)} ms)\n`,
    );
    // Waiting on the receiver would cost every turn 5 s.
    expect(slow.at(-1)!).toBeLessThan(2500);
    await client.close();
  }, 120_000);
});
