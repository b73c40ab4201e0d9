// @mozaiks/client against the real runtime: typed events, a restart of the runtime mid-chat that
// the client rides out on its own (resuming after its last seq), tokens renewed before they
// expire, and refusals said plainly.
import { MozaiksClient, MozaiksClientError } from '@mozaiks/client';
import type { ServerEvent } from '@mozaiks/client';
import { freePort, makeTempDir, mintToken } from '@mozaiks/testing';
import type { CompletionRequestBody } from '@mozaiks/llm';
import { ServiceProcess, startCluster } from './cluster';
import type { Cluster } from './cluster';
import { startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

const usage = { prompt_tokens: 10, completion_tokens: 4 };

/** Events until the run's usage_update, from an async iteration of the client. */
async function untilUsage(events: AsyncIterator<ServerEvent>): Promise<ServerEvent[]> {
  const seen: ServerEvent[] = [];
  for (;;) {
    const next = await events.next();
    if (next.done) throw new Error('the client closed');
    seen.push(next.value);
    if (next.value.type === 'usage_update') return seen;
  }
}

describe('@mozaiks/client', () => {
  let rt: TestRuntime | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  it("streams a run's typed events to an async iteration and to callbacks", async () => {
    rt = await startTestRuntime();
    rt.llm.setFallback(() => ({ content: 'Tell me your email.', usage }));
    const client = await MozaiksClient.connect({
      url: rt.wsUrl('').replace(/\?token=$/, ''),
      token: await mintToken({ claims: { workflow_id: 'hello', chat_id: 'chat_sdk_1' } }),
    });
    const events = client[Symbol.asyncIterator]();
    const replies: string[] = [];
    client.on('agent_message', (e) => replies.push(e.content));
    client.send('What time is it?');
    const run = await untilUsage(events);
    expect(run.map((e) => e.type).filter((t) => t !== 'agent_message_delta' && t !== 'usage_delta')).toEqual([
      'agent_message',
      'workflow_complete',
      'usage_update',
    ]);
    expect(replies).toEqual(['Tell me your email.']);
    const done = run.find((e) => e.type === 'usage_update');
    expect(done).toMatchObject({ type: 'usage_update', total_tokens: 14 });
    expect(client.lastSeq).toBe(run.filter((e) => e.seq !== undefined).at(-1)!.seq);
    client.close();
    expect(client.state).toBe('closed');
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it('rides out a restart of the runtime mid-chat: every event once, in seq order, the message sent meanwhile delivered', async () => {
    const data = makeTempDir('mozaiks-sdk-');
    const port = await freePort();
    const env = { PORT: String(port) };
    try {
      rt = await startTestRuntime({ dataDir: data, env });
      rt.llm.setFallback(() => ({ content: 'first answer', usage, delay_ms: 300 }));
      const token = await mintToken({ claims: { workflow_id: 'hello', chat_id: 'chat_sdk_2' } });
      const client = await MozaiksClient.connect({
        url: `ws://127.0.0.1:${port}/ws/chat`,
        token,
        lastSeq: 0,
        reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
      });
      const states: string[] = [];
      client.onState((s) => states.push(s));
      const all: ServerEvent[] = [];
      client.on('*', (e) => void all.push(e));
      client.send('one');
      await client.waitFor((e) => e.type === 'usage_update');
      // The runtime goes away (its sockets are told 1012) and comes back on the same port and data.
      await rt.stop();
      client.send('two');
      rt = await startTestRuntime({ dataDir: data, env });
      rt.llm.setFallback(() => ({ content: 'second answer', usage }));
      await client.waitFor(
        (e) => e.type === 'usage_update' && all.filter((x) => x.type === 'usage_update').length === 2,
        20_000,
      );
      expect(states).toEqual(expect.arrayContaining(['reconnecting', 'open']));
      const seqs = all.flatMap((e) => (e.seq === undefined ? [] : [e.seq]));
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(all.filter((e) => e.type === 'agent_message').map((e) => (e as { content: string }).content)).toEqual([
        'first answer',
        'second answer',
      ]);
      client.close();
    } finally {
      await rt?.stop();
      rt = undefined;
      data.remove();
    }
  }, 60_000);

  it('renews its token with getToken before it expires, and without it closes with token_expired', async () => {
    rt = await startTestRuntime();
    rt.llm.setFallback(() => ({ content: 'still here', usage }));
    const url = rt.wsUrl('').replace(/\?token=$/, '');
    const claims = { workflow_id: 'hello', chat_id: 'chat_sdk_3' };
    let issued = 0;
    const renewing = await MozaiksClient.connect({
      url,
      getToken: async () => (issued++, mintToken({ expiresIn: issued === 1 ? 3 : 3600, claims })),
      refreshBeforeMs: 1500,
    });
    const lapsing = await MozaiksClient.connect({
      url,
      token: await mintToken({ expiresIn: 1, claims: { ...claims, chat_id: 'chat_sdk_4' } }),
    });
    const refreshed = await renewing.waitFor((e) => e.type === 'token_refreshed', 10_000);
    expect(Date.parse((refreshed as { expires_at: string }).expires_at) - Date.now()).toBeGreaterThan(3000_000);
    // Past the first token's expiry and the runtime's leeway, the renewed socket works as before.
    await new Promise((r) => setTimeout(r, 7000));
    expect(renewing.state).toBe('open');
    renewing.send('ping');
    await renewing.waitFor((e) => e.type === 'usage_update');
    expect(lapsing.state).toBe('closed');
    expect(lapsing.error).toMatchObject({ code: 'token_expired' });
    renewing.close();
  }, 30_000);

  it('says why it cannot connect: a refused token, an address where nothing listens', async () => {
    rt = await startTestRuntime();
    const url = rt.wsUrl('').replace(/\?token=$/, '');
    const refused = MozaiksClient.connect({ url, token: 'not-a-jwt' });
    await expect(refused).rejects.toBeInstanceOf(MozaiksClientError);
    await expect(refused).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringContaining('refused the launch token'),
    });
    await expect(
      MozaiksClient.connect({ url: `ws://127.0.0.1:${await freePort()}/ws/chat`, token: await mintToken() }),
    ).rejects.toMatchObject({ code: 'unreachable' });
    await expect(MozaiksClient.connect({ url })).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'connect needs a token or getToken',
    });
  });
});

describe('@mozaiks/client on the distributed runtime', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('carries 50 chats through a gateway restarted twice mid-stream: every event once, in seq order, with no reconnect code in the test', async () => {
    cluster = await startCluster({ counts: { gateway: 0 } });
    // Replies that keep the runs going while the gateway restarts.
    cluster.llm.setFallback((request: CompletionRequestBody) => {
      const chat = String(request.messages.find((m) => m.role === 'user' && !m.name)?.content);
      const agent = String(request.messages[0]!.content).startsWith('You collect') ? 'DataCollector' : 'Validator';
      return { content: `${agent} on ${chat}`, usage: { prompt_tokens: 20, completion_tokens: 5 }, delay_ms: 700 };
    });
    const port = await freePort();
    const gateway = new ServiceProcess('gateway', {
      ...cluster.services.executor[0]!.env,
      PORT: String(port),
      SHUTDOWN_GRACE_SECONDS: '0',
    });
    await gateway.start();
    const clients: MozaiksClient[] = [];
    try {
      const chats = Array.from({ length: 50 }, (_, i) => `chat_sdk_d${i}`);
      clients.push(
        ...(await Promise.all(
          chats.map(async (chat) =>
            MozaiksClient.connect({
              url: `ws://127.0.0.1:${port}/ws/chat`,
              token: await mintToken({ claims: { chat_id: chat } }),
              lastSeq: 0,
              reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
            }),
          ),
        )),
      );
      const received = clients.map((c) => {
        const events: ServerEvent[] = [];
        c.on('*', (e) => void events.push(e));
        return events;
      });
      const drops = clients.map(() => 0);
      clients.forEach((c, i) => c.onState((state) => void (state === 'reconnecting' && drops[i]!++)));
      clients.forEach((c, i) => c.send(chats[i]!));
      const finished = () => received.filter((events) => events.some((e) => e.type === 'usage_update')).length;
      for (let restart = 0; restart < 2; restart++) {
        // Each restart comes while the runs go on, once every client is back from the one before.
        const back = Date.now() + 20_000;
        while (!clients.every((c) => c.state === 'open') && Date.now() < back)
          await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 300));
        // SIGTERM: the gateway drains, telling its sockets 1012; it is back on the same port.
        await gateway.kill('SIGTERM');
        await gateway.start();
      }
      const deadline = Date.now() + 60_000;
      while (finished() < chats.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(finished()).toBe(chats.length);
      received.forEach((events, i) => {
        const seqs = events.flatMap((e) => (e.seq === undefined ? [] : [e.seq]));
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, k) => k + 1));
        expect(events.filter((e) => e.type === 'agent_message').map((e) => (e as { content: string }).content)).toEqual(
          [`DataCollector on ${chats[i]}`, `Validator on ${chats[i]}`],
        );
      });
      // Each client lost its socket at both restarts, while its run was going, and found its way back
      // (one whose run had ended may still be in its backoff: given the time to come back).
      expect(drops.every((n) => n >= 2)).toBe(true);
      const reopened = Date.now() + 20_000;
      while (!clients.every((c) => c.state === 'open') && Date.now() < reopened)
        await new Promise((r) => setTimeout(r, 20));
      expect(clients.every((c) => c.state === 'open')).toBe(true);
      const midRun = received.filter((events) => events.findIndex((e) => e.type === 'usage_update') > -1).length;
      process.stderr.write(
        `client sdk: ${chats.length} chats (${midRun} finished) through 2 gateway restarts, ${received.reduce((n, e) => n + e.length, 0)} events, each once, ${drops.reduce((a, b) => a + b, 0)} reconnects\n`,
      );
    } finally {
      // Closed whatever happened: a client left reconnecting keeps the test process alive.
      clients.forEach((c) => c.close());
      await gateway.kill('SIGKILL');
    }
  }, 120_000);
});
