// The gateway on its own, on real sockets: token lifetime and refresh on open sockets, heartbeats
// that unsolicited pongs cannot fake, slow readers bounded, and resumes past the chat's end.
import path from 'node:path';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { LaunchTokenVerifier } from '@mozaiks/auth';
import { MemoryBus } from '@mozaiks/bus';
import { subjects } from '@mozaiks/protocol';
import { openStore } from '@mozaiks/store';
import type { ChatStores } from '@mozaiks/store';
import { RuntimeMetrics, createLogger } from '@mozaiks/telemetry';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, WsTestClient, makeTempDir, mintToken } from '@mozaiks/testing';
import type { TempDir } from '@mozaiks/testing';
import { Gateway } from './gateway';
import type { GatewayOptions } from './gateway-options';

let dir: TempDir;
let stores: ChatStores;
let bus: MemoryBus;
let gateway: Gateway | undefined;
let logs: string;
let metrics: RuntimeMetrics;
const tenant = { app_id: 'app_456', user_id: 'user_123' };

beforeEach(async () => {
  dir = makeTempDir('mozaiks-gateway-');
  stores = await openStore({ dataDir: path.join(dir.path, 'data') });
  bus = new MemoryBus();
  logs = '';
  metrics = new RuntimeMetrics({ processMetrics: false });
});
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
  await bus.drain();
  await stores.close();
  dir.remove();
});

async function start(options: Partial<GatewayOptions> = {}): Promise<(token: string, lastSeq?: number) => string> {
  gateway = new Gateway({
    verifier: new LaunchTokenVerifier({ secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
    bus,
    log: stores.log,
    inbox: stores.inbox,
    subjects: subjects(),
    metrics,
    logger: createLogger({
      service: 'gateway',
      level: 'info',
      destination: new Writable({ write: (c, _e, done) => ((logs += c.toString()), done()) }),
    }),
    ...options,
  });
  const { port } = await gateway.listen(0, '127.0.0.1');
  return (token, lastSeq) =>
    `ws://127.0.0.1:${port}/ws/chat?token=${token}${lastSeq === undefined ? '' : `&last_seq=${lastSeq}`}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Gives the chat `count` persisted events of about `size` bytes each. */
async function history(chatId: string, count: number, size = 100): Promise<void> {
  const lease = (await stores.inbox.acquire(tenant, chatId, 'test', 60_000))!;
  const writer = await stores.log.openWriter(lease, 'onboarding_flow');
  for (let i = 0; i < count; i += 100) {
    const events = Array.from({ length: Math.min(100, count - i) }, (_, k) => ({
      type: 'agent_message' as const,
      chat_id: chatId,
      event_id: `e${i + k}`,
      timestamp: new Date().toISOString(),
      run_id: 'r',
      agent: 'A',
      content: 'x'.repeat(size),
    }));
    await writer.append({ events });
  }
  await stores.inbox.release(lease, { inputsDone: 0, position: writer.position });
}

async function activeSockets(): Promise<number> {
  const { body } = await metrics.render();
  return Number(body.match(/^websocket_connections_active (\d+)/m)?.[1]);
}

describe('Gateway', () => {
  it('closes an open socket with token_expired and 4001 when its token expires', async () => {
    const url = await start({ tokenLeewayMs: 100 });
    const client = await WsTestClient.connect(url(await mintToken({ expiresIn: 1 })));
    const expired = await client.waitForType('error', { timeoutMs: 3000 });
    expect(expired).toMatchObject({ code: 'token_expired', retryable: false });
    expect(await client.closed(2000)).toBe(4001);
  });

  it('keeps a socket whose token is refreshed in time, and refuses a refresh for another chat or a bad token', async () => {
    const url = await start({ tokenLeewayMs: 100 });
    const client = await WsTestClient.connect(url(await mintToken({ expiresIn: 1 })));
    client.send({ type: 'refresh', token: await mintToken({ claims: { chat_id: 'chat_other' } }) });
    expect(await client.waitForType('error')).toMatchObject({
      code: 'unauthorized',
      message: expect.stringContaining('chat_id'),
    });
    const wrongKey = await mintToken({ key: 'another-secret-0123456789abcdef0123456789' });
    client.send({ type: 'refresh', token: wrongKey });
    await client.waitFor((e) => e.type === 'error' && String(e.message).includes('signature verification failed'));
    const fresh = await mintToken({ expiresIn: 3600, claims: { plan: 'gold' } });
    client.send({ type: 'refresh', token: fresh });
    const refreshed = await client.waitForType('token_refreshed');
    expect(refreshed.seq).toBeUndefined();
    expect(Date.parse(String(refreshed.expires_at)) - Date.now()).toBeGreaterThan(3500_000);
    // Past the first token's expiry (and leeway) the socket is still open.
    await sleep(1800);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    expect(client.events.filter((e) => e.code === 'token_expired')).toEqual([]);
    await client.close();
  });

  it('with a lifetime cap, refuses a far exp hidden behind a future iat: at the handshake, on refresh and on POST /chat/start', async () => {
    const url = await start({
      verifier: new LaunchTokenVerifier({
        secret: TEST_SECRET,
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        maxLifetimeSeconds: 3600,
      }),
    });
    const exp = Math.floor(Date.now() / 1000) + 10 * 365 * 86400;
    const disguised = await mintToken({ claims: { exp, iat: exp - 60 } });
    const handshake = await WsTestClient.handshakeStatus(url(disguised));
    expect(handshake.status).toBe(401);
    expect(JSON.parse(handshake.body)).toEqual({ error: 'unauthorized', message: 'invalid iat' });
    const startUrl = url('').replace(/^ws:/, 'http:').replace('/ws/chat?token=', '/chat/start');
    const post = await fetch(startUrl, { method: 'POST', headers: { authorization: `Bearer ${disguised}` } });
    expect(post.status).toBe(401);
    expect(await post.json()).toEqual({ error: 'unauthorized', message: 'invalid iat' });
    const client = await WsTestClient.connect(url(await mintToken({ expiresIn: 600 })));
    client.send({ type: 'refresh', token: disguised });
    expect(await client.waitForType('error')).toMatchObject({
      code: 'unauthorized',
      message: expect.stringContaining('invalid iat'),
    });
    client.send({ type: 'refresh', token: await mintToken({ claims: { exp, iat: Math.floor(Date.now() / 1000) } }) });
    await client.waitFor((e) => e.type === 'error' && String(e.message).includes('exceeds the 3600 s allowed'));
    expect(client.events.filter((e) => e.type === 'token_refreshed')).toEqual([]);
    await client.close();
    // The refused start stored nothing: the chat's only input is the valid socket's opening.
    expect((await stores.inbox.pending(tenant, 'chat_789', 0)).map((i) => i.kind)).toEqual(['open']);
  });

  it('drops a peer that only sends unsolicited pongs, and keeps one that answers pings', async () => {
    const url = await start({ heartbeatMs: 100 });
    const token = await mintToken();
    const faker = new WebSocket(url(token), { autoPong: false });
    await new Promise((r) => faker.once('open', r));
    const pongs = setInterval(() => faker.pong(), 20);
    const honest = await WsTestClient.connect(url(token));
    const closed = new Promise<number>((r) => faker.once('close', (code) => r(code)));
    expect(await closed).toBe(1006);
    clearInterval(pongs);
    await sleep(300);
    expect(honest.socket.readyState).toBe(WebSocket.OPEN);
    await honest.close();
  });

  it('closes a client that does not read with 4008, holding at most its limit, however many resumes it sends', async () => {
    await history('chat_789', 3000, 1000);
    const url = await start({ maxBufferedBytes: 256 * 1024, drainTimeoutMs: 500 });
    const socket = new WebSocket(url(await mintToken()));
    await new Promise((r) => socket.once('open', r));
    // The client stops reading: the kernel's buffers fill, then the gateway's.
    (socket as unknown as { _socket: import('node:net').Socket })._socket.pause();
    for (let i = 0; i < 100; i++) socket.send(JSON.stringify({ type: 'resume', last_seq: 0 }));
    const deadline = Date.now() + 10_000;
    while ((await activeSockets()) !== 0 && Date.now() < deadline) await sleep(50);
    expect(await activeSockets()).toBe(0);
    expect(logs).toContain('client reads too slowly; closing its socket');
    socket.terminate();
  });

  it('tells a client whose unread backlog kept it from answering a ping that it reads too slowly (4008), not just dropping it', async () => {
    await history('chat_789', 12_000, 1000);
    // The heartbeat comes round before the replay's drain wait would give up.
    const url = await start({ heartbeatMs: 200, drainTimeoutMs: 60_000 });
    const socket = new WebSocket(url(await mintToken()));
    await new Promise((r) => socket.once('open', r));
    (socket as unknown as { _socket: import('node:net').Socket })._socket.pause();
    socket.send(JSON.stringify({ type: 'resume', last_seq: 0 }));
    const deadline = Date.now() + 10_000;
    while ((await activeSockets()) !== 0 && Date.now() < deadline) await sleep(50);
    expect(await activeSockets()).toBe(0);
    expect(logs).toContain('client reads too slowly; closing its socket');
    socket.terminate();
  });

  it('delivers every event once and in order when live ones arrive while a resume replays the history', async () => {
    await history('chat_789', 10_000);
    const url = await start();
    // The chat's holder commits events and publishes each, as an executor does, before the client
    // connects, while it reads the history, and after.
    const lease = (await stores.inbox.acquire(tenant, 'chat_789', 'test', 60_000))!;
    const writer = await stores.log.openWriter(lease, 'onboarding_flow');
    let client: WsTestClient | undefined;
    for (let i = 0; i < 300; i++) {
      const [event] = await writer.append({
        events: [
          {
            type: 'agent_message',
            chat_id: 'chat_789',
            event_id: `live${i}`,
            timestamp: new Date().toISOString(),
            run_id: 'r',
            agent: 'A',
            content: `live ${i}`,
          },
        ],
      });
      await bus.publish(subjects().chat(tenant.app_id, 'chat_789'), { v: 1, ...tenant, event: event! });
      if (i === 50) client = await WsTestClient.connect(url(await mintToken(), 0));
      await sleep(1);
    }
    await client!.waitFor((e) => e.seq === 10_300, { timeoutMs: 30_000 });
    const seqs = client!.events.filter((e) => e.seq !== undefined).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 10_300 }, (_, i) => i + 1));
    await client!.close();
  });

  it("refuses a resume beyond the chat's newest event, then goes on from the present", async () => {
    await history('chat_789', 3);
    const url = await start();
    const client = await WsTestClient.connect(url(await mintToken(), 9));
    expect(await client.waitForType('error')).toMatchObject({
      code: 'invalid_message',
      message: expect.stringContaining("beyond the chat's newest event (3)"),
    });
    client.send({ type: 'resume', last_seq: 1 });
    await client.waitFor((e) => e.seq === 3);
    expect(client.events.filter((e) => e.seq !== undefined).map((e) => e.seq)).toEqual([2, 3]);
    await client.close();
  });
});

/** The HTTP answer to a handshake the gateway refuses. */
function refusal(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('open', () => reject(new Error('the handshake was accepted')));
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as Record<string, unknown> }));
    });
    socket.on('error', () => undefined);
  });
}

describe('Gateway limits at the door', () => {
  it('refuses a user a socket beyond WS_MAX_CONNECTIONS_PER_USER with 429 too_many_connections, until one closes', async () => {
    const url = await start({ limits: { connectionsPerUser: 2, connectionsPerApp: 0, messagesPerMinute: 0 } });
    const token = await mintToken({ claims: { chat_id: 'chat_a' } });
    const first = await WsTestClient.connect(url(token));
    const second = await WsTestClient.connect(url(await mintToken({ claims: { chat_id: 'chat_b' } })));
    const refused = await refusal(url(token));
    expect(refused).toEqual({
      status: 429,
      body: { error: 'too_many_connections', message: expect.stringMatching(/this user has 2 socket/) },
    });
    // Another user of the app is not held back by this one.
    const other = await WsTestClient.connect(url(await mintToken({ claims: { user_id: 'user_other' } })));
    await first.close();
    // The server counts the socket out once its connection has closed: try until it has.
    let again: WsTestClient | undefined;
    for (let i = 0; !again; i++) {
      again = await WsTestClient.connect(url(token)).catch((error: unknown) => {
        if (i > 200) throw error;
        return sleep(10).then(() => undefined);
      });
    }
    expect((await metrics.render()).body).toMatch(/connections_refused_total\{reason="per_user"\} 1/);
    await Promise.all([second.close(), other.close(), again.close()]);
  });

  it('refuses an app a socket beyond WS_MAX_CONNECTIONS_PER_APP, whichever of its users asks', async () => {
    const url = await start({ limits: { connectionsPerUser: 0, connectionsPerApp: 2, messagesPerMinute: 0 } });
    const a = await WsTestClient.connect(url(await mintToken({ claims: { user_id: 'u1' } })));
    const b = await WsTestClient.connect(url(await mintToken({ claims: { user_id: 'u2' } })));
    const refused = await refusal(url(await mintToken({ claims: { user_id: 'u3' } })));
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: 'too_many_connections', message: expect.stringMatching(/this app/) });
    const elsewhere = await WsTestClient.connect(url(await mintToken({ claims: { app_id: 'app_other' } })));
    expect((await metrics.render()).body).toMatch(/connections_refused_total\{reason="per_app"\} 1/);
    await Promise.all([a.close(), b.close(), elsewhere.close()]);
  });

  it('answers a message over USER_MESSAGES_PER_MINUTE with rate_limited and retry_after_ms, storing nothing of it; POST /chat/start with 429 and Retry-After', async () => {
    const url = await start({ limits: { connectionsPerUser: 0, connectionsPerApp: 0, messagesPerMinute: 2 } });
    const token = await mintToken({ claims: { chat_id: 'chat_rate' } });
    const client = await WsTestClient.connect(url(token));
    client.send({ type: 'user_message', content: 'one' });
    client.send({ type: 'user_message', content: 'two' });
    client.send({ type: 'user_message', content: 'three' });
    const limited = await client.waitForType('error');
    expect(limited).toMatchObject({ code: 'rate_limited', retryable: true });
    // Two messages a minute: the next is allowed in about 30 s.
    expect(limited.retry_after_ms).toBeGreaterThan(25_000);
    expect(limited.retry_after_ms).toBeLessThanOrEqual(30_000);
    for (let i = 0; i < 100 && (await stores.inbox.pending(tenant, 'chat_rate', 0)).length < 3; i++) await sleep(10);
    const stored = await stores.inbox.pending(tenant, 'chat_rate', 0);
    expect(stored.filter((i) => i.kind !== 'open').map((i) => i.content)).toEqual(['one', 'two']);

    const port = new URL(url(token)).port;
    const started = await fetch(`http://127.0.0.1:${port}/chat/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'four', request_id: 'job-4' }),
    });
    expect(started.status).toBe(429);
    expect(Number(started.headers.get('retry-after'))).toBeGreaterThanOrEqual(25);
    expect(await started.json()).toMatchObject({ error: 'rate_limited', retry_after_ms: expect.any(Number) });
    expect((await stores.inbox.pending(tenant, 'chat_rate', 0)).map((i) => i.request_id)).not.toContain('job-4');
    expect((await metrics.render()).body).toMatch(/messages_rate_limited_total 2/);
    await client.close();
  });
});
