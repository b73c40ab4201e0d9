// The runtime as platform teams run it: every service its own process, NATS between them, and the
// chats in MongoDB (each process with its own empty data folder) or, on one host, one SQLite file;
// chats keep working while processes die and NATS or the database restart.
import { readFileSync, readdirSync } from 'node:fs';
import { WebSocket } from 'ws';
import { jetstream } from '@nats-io/jetstream';
import { openStore } from '@mozaiks/store';
import { WsTestClient, mintToken, mongoTestServerAvailable, startMongoTestServer } from '@mozaiks/testing';
import type { CompletionRequestBody } from '@mozaiks/llm';
import type { MongoTestServer, TestEvent } from '@mozaiks/testing';
import { expectGapless, startCluster, until } from './cluster';
import type { Cluster, ClusterStore } from './cluster';
import { FIXTURE_WORKFLOWS, SHIPPED_WORKFLOWS } from './harness';

/** Every usage_update a billing pipeline subscribed to `mozaiks.usage.>` receives. */
function billing(cluster: Cluster): Array<Record<string, unknown>> {
  const received: Array<Record<string, unknown>> = [];
  cluster.observer.subscribe<Record<string, unknown>>(
    'mozaiks.usage.>',
    (m) => void received.push({ subject: m.subject, headers: m.headers, ...m.data }),
  );
  return received;
}

/** Every message stored on the billing stream, read as a billing pipeline's durable consumer would. */
async function billedFromStream(cluster: Cluster): Promise<Array<Record<string, unknown>>> {
  const consumer = await jetstream(cluster.observer.connection).consumers.get('MOZAIKS_USAGE');
  const messages = await consumer.fetch({ max_messages: 1000, expires: 2000 });
  const out: Array<Record<string, unknown>> = [];
  for await (const m of messages) {
    out.push(m.json<Record<string, unknown>>());
    if (m.info.pending === 0) break;
  }
  return out;
}

/** Onboarding replies that name the agent and the chat, after a delay that keeps runs in flight. */
function slowOnboardingReply(delayMs: number) {
  return (request: CompletionRequestBody) => {
    const system = String(request.messages[0]!.content);
    const agent = system.startsWith('You collect') ? 'DataCollector' : 'Validator';
    const chat = String(request.messages.find((m) => m.role === 'user' && !m.name)?.content);
    return { content: `${agent} on ${chat}`, usage: { prompt_tokens: 100, completion_tokens: 10 }, delay_ms: delayMs };
  };
}

/** Asserts each chat's socket(s) saw one reply per agent, for that chat. */
function expectOneReplyPerAgent(events: TestEvent[], chat: string): void {
  const replies = events.filter((e) => e.type === 'agent_message').map((e) => e.content);
  expect(replies).toEqual([`DataCollector on ${chat}`, `Validator on ${chat}`]);
}

/** The chat store a cluster runs on, in the suite being run. */
type StoreKind = ClusterStore['kind'];

function distributedSuite(kind: StoreKind): void {
  describe(`distributed runtime on ${kind === 'mongodb' ? 'MongoDB' : 'SQLite'}`, () => {
    let cluster: Cluster;
    let mongo: MongoTestServer | undefined;
    beforeAll(async () => {
      if (kind === 'mongodb') mongo = await startMongoTestServer();
    }, 30_000);
    afterAll(async () => mongo?.dispose());
    afterEach(async () => cluster?.stop());
    const startClusterOn = (options: Parameters<typeof startCluster>[0] = {}) =>
      startCluster({ ...options, store: kind === 'mongodb' ? { kind, server: mongo! } : { kind } });

    it('serves a chat through gateway, executor, tool-runner and usage-emitter processes', async () => {
      cluster = await startClusterOn({ workflowsDir: FIXTURE_WORKFLOWS });
      const billed = billing(cluster);
      cluster.llm.push(
        {
          tool_calls: [{ id: 'call_1', name: 'add', arguments: '{"a": 1, "b": 2}' }],
          usage: { prompt_tokens: 10, completion_tokens: 5 },
        },
        { content: 'It is 3.', usage: { prompt_tokens: 20, completion_tokens: 3 } },
      );
      const client = await WsTestClient.connect(
        cluster.wsUrl(0, await mintToken({ claims: { workflow_id: 'tool_kit', chat_id: 'chat_d1' } })),
      );
      const events = await client.exchange('add 1 and 2');
      expect(events.map((e) => e.type)).toEqual([
        'tool_call',
        'usage_delta',
        'tool_result',
        'agent_message',
        'usage_delta',
        'workflow_complete',
        'usage_update',
      ]);
      expect(events[2]).toMatchObject({ ok: true, result: { sum: 3 } });
      expect(events.at(-1)).toMatchObject({ tokens: { prompt_tokens: 30, completion_tokens: 8, total_tokens: 38 } });
      expectGapless(events);
      await until(() => billed.length === 1, 5000, 'the billing event');
      expect(billed[0]).toMatchObject({
        subject: 'mozaiks.usage.app_456.user_123',
        type: 'usage_update',
        event_id: events.at(-1)!.event_id,
        total_tokens: 38,
      });
      // One W3C trace from the gateway through the executor to the billing event.
      const traceId = String((billed[0]!.headers as Record<string, string>).traceparent).split('-')[1];
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(cluster.services.gateway[0]!.output).toContain(`"trace_id":"${traceId}"`);
      expect(cluster.services.executor[0]!.output).toContain(`"trace_id":"${traceId}"`);
      expect(billed[0]!.headers).toMatchObject({ 'Nats-Msg-Id': events.at(-1)!.event_id, 'Mozaiks-Version': '1' });
      for (const service of Object.values(cluster.services).flat()) {
        expect((await fetch(`${service.url}/health`)).status).toBe(200);
        expect((await fetch(`${service.url}/ready`)).status).toBe(200);
        expect(await (await fetch(`${service.url}/metrics`)).text()).toContain(
          '# TYPE workflow_executions_total counter',
        );
      }
      await client.close();
    });

    it('completes eight parallel chats across two gateways while an executor is killed with SIGKILL mid-run', async () => {
      cluster = await startClusterOn({ counts: { gateway: 2, executor: 2 } });
      const plain = billing(cluster);
      cluster.llm.setFallback(slowOnboardingReply(400));
      const chats = Array.from({ length: 8 }, (_, i) => `chat_k${i}`);
      const clients = await Promise.all(
        chats.map(async (chat, i) =>
          WsTestClient.connect(cluster.wsUrl(i % 2, await mintToken({ claims: { chat_id: chat } }))),
        ),
      );
      clients.forEach((c, i) => c.send({ type: 'user_message', content: chats[i] }));
      await until(() => clients.some((c) => c.events.some((e) => e.type === 'agent_message')), 10_000, 'a first reply');
      const victim = cluster.services.executor[0]!;
      await victim.kill('SIGKILL');
      await Promise.all(clients.map((c) => c.waitForType('usage_update', { timeoutMs: 60_000 })));
      clients.forEach((c, i) => {
        expectOneReplyPerAgent(c.events, chats[i]!);
        expectGapless(c.events);
        expect(c.events.filter((e) => e.type === 'workflow_complete')).toHaveLength(1);
      });
      // A billing publish that failed while NATS was down is published again when its record is
      // redelivered: the stream must hold every chat's usage once, soon, not at this very instant.
      let billed = await billedFromStream(cluster);
      // (redelivery waits for the ack deadline; on FerretDB under load the republish takes 10-20 s more)
      for (let i = 0; i < 60 && billed.length < chats.length; i++) {
        await new Promise((r) => setTimeout(r, 500));
        billed = await billedFromStream(cluster);
      }
      expect(billed.map((b) => b.chat_id).sort()).toEqual([...chats].sort());
      expect(new Set(billed.map((b) => b.event_id)).size).toBe(8);
      // A plain subscriber on mozaiks.usage.> got the same: one per execution, none twice.
      await until(() => plain.length >= 8, 5000, 'the billing events');
      await new Promise((r) => setTimeout(r, 300));
      expect(plain.map((b) => b.chat_id).sort()).toEqual([...chats].sort());
      expect(plain.map((b) => b.event_id).sort()).toEqual(billed.map((b) => b.event_id).sort());
      // The victim was cut off in the middle of runs, which the survivor then finished.
      const started = (victim.output.match(/workflow execution started/g) ?? []).length;
      const finished = (victim.output.match(/workflow execution finished/g) ?? []).length;
      expect(started).toBeGreaterThan(finished);
      await Promise.all(clients.map((c) => c.close()));
    });

    it('lets clients of a killed gateway reconnect to another with their last seq, missing and repeating nothing', async () => {
      cluster = await startClusterOn({ counts: { gateway: 2 } });
      cluster.llm.setFallback(slowOnboardingReply(500));
      const chats = ['chat_g0', 'chat_g1', 'chat_g2', 'chat_g3'];
      const tokens = await Promise.all(chats.map((chat) => mintToken({ claims: { chat_id: chat } })));
      const first = await Promise.all(tokens.map((t) => WsTestClient.connect(cluster.wsUrl(1, t))));
      first.forEach((c, i) => c.send({ type: 'user_message', content: chats[i] }));
      await until(
        () => first.every((c) => c.events.some((e) => e.type === 'agent_message')),
        15_000,
        'a first reply on every chat',
      );
      await cluster.services.gateway[1]!.kill('SIGKILL');
      await Promise.all(first.map((c) => c.closed()));
      const lastSeqs = first.map((c) => Math.max(...c.events.map((e) => (e.seq as number) ?? 0)));
      const second = await Promise.all(tokens.map((t, i) => WsTestClient.connect(cluster.wsUrl(0, t, lastSeqs[i]))));
      await Promise.all(second.map((c) => c.waitForType('usage_update', { timeoutMs: 30_000 })));
      second.forEach((c, i) => {
        const all = [...first[i]!.events, ...c.events];
        expectGapless(all);
        expectOneReplyPerAgent(all, chats[i]!);
        expect(all.map((e) => e.type).slice(-2)).toEqual(['workflow_complete', 'usage_update']);
      });
      await Promise.all(second.map((c) => c.close()));
    });

    it('finishes every chat and loses no usage when nats-server restarts mid-load', async () => {
      cluster = await startClusterOn();
      cluster.llm.setFallback(slowOnboardingReply(300));
      const chats = ['chat_n0', 'chat_n1', 'chat_n2', 'chat_n3'];
      const clients = await Promise.all(
        chats.map(async (chat) =>
          WsTestClient.connect(cluster.wsUrl(0, await mintToken({ claims: { chat_id: chat } }))),
        ),
      );
      clients.forEach((c, i) => c.send({ type: 'user_message', content: chats[i] }));
      await until(() => clients.some((c) => c.events.some((e) => e.type === 'agent_message')), 10_000, 'a first reply');
      await cluster.nats.stop();
      await new Promise((r) => setTimeout(r, 1000));
      await cluster.nats.start();
      await Promise.all(clients.map((c) => c.waitForType('usage_update', { timeoutMs: 60_000 })));
      clients.forEach((c, i) => {
        expectGapless(c.events);
        expectOneReplyPerAgent(c.events, chats[i]!);
      });
      for (let i = 0; i < 100 && !cluster.observer.connected; i++) await new Promise((r) => setTimeout(r, 50));
      // A billing publish that failed while NATS was down is published again when its record is
      // redelivered: the stream must hold every chat's usage once, soon, not at this very instant.
      let billed = await billedFromStream(cluster);
      // (redelivery waits for the ack deadline; on FerretDB under load the republish takes 10-20 s more)
      for (let i = 0; i < 60 && billed.length < chats.length; i++) {
        await new Promise((r) => setTimeout(r, 500));
        billed = await billedFromStream(cluster);
      }
      expect(billed.map((b) => b.chat_id).sort()).toEqual([...chats].sort());
      for (const service of Object.values(cluster.services).flat())
        expect((await fetch(`${service.url}/ready`)).status).toBe(200);
      await Promise.all(clients.map((c) => c.close()));
      // Its waits (up to 60 s for the runs, 30 s for the republish) need more than jest's default limit on a loaded machine.
    }, 150_000);

    it('holds little for a client that never reads, however many resumes it sends: 4008, gateway RSS grows < 64 MiB', async () => {
      cluster = await startClusterOn();
      // A chat with 20 MB of history.
      const stores = await openStore({
        dataDir: cluster.storeEnv.DATA_DIR ?? '/nonexistent',
        ...(cluster.storeEnv.MONGODB_URI
          ? { mongodbUri: cluster.storeEnv.MONGODB_URI, mongodbDatabase: cluster.storeEnv.MONGODB_DATABASE }
          : {}),
      });
      const tenant = { app_id: 'app_456', user_id: 'user_123' };
      const lease = (await stores.inbox.acquire(tenant, 'chat_big', 'test', 60_000))!;
      const writer = await stores.log.openWriter(lease, 'onboarding_flow');
      for (let i = 0; i < 20_000; i += 500) {
        await writer.append({
          events: Array.from(
            { length: 500 },
            (_, k) =>
              ({
                type: 'agent_message',
                chat_id: 'chat_big',
                event_id: `e${i + k}`,
                timestamp: new Date().toISOString(),
                run_id: 'r',
                agent: 'A',
                content: 'x'.repeat(1000),
              }) as never,
          ),
        });
      }
      await stores.inbox.release(lease, { inputsDone: 0, position: writer.position });
      await stores.close();
      const gateway = cluster.services.gateway[0]!;
      const rss = () =>
        Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${gateway.child.pid}/status`, 'utf8'))![1]) * 1024;
      const token = await mintToken({ claims: { chat_id: 'chat_big' } });
      // Warm: a client that reads takes part of the history.
      const reader = await WsTestClient.connect(cluster.wsUrl(0, token, 19_990));
      await reader.waitFor((e) => e.seq === 20_000);
      await reader.close();
      const before = rss();
      const socket = new WebSocket(cluster.wsUrl(0, token));
      await new Promise((r) => socket.once('open', r));
      (socket as unknown as { _socket: import('node:net').Socket })._socket.pause();
      for (let i = 0; i < 100; i++) socket.send(JSON.stringify({ type: 'resume', last_seq: 0 }));
      let peak = before;
      const metrics = async () =>
        (await (await fetch(`${gateway.url}/metrics`)).text()).match(/^websocket_connections_active (\d+)/m)?.[1];
      // On FerretDB the gateway reads the history for ~50-60 s before its buffer bound closes the socket.
      const deadline = Date.now() + 120_000;
      while ((await metrics()) !== '0' && Date.now() < deadline) {
        peak = Math.max(peak, rss());
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await metrics()).toBe('0');
      expect(gateway.output).toContain('client reads too slowly; closing its socket');
      process.stderr.write(
        `${kind}: gateway RSS grew ${((peak - before) / 1048576).toFixed(1)} MiB under 100 resumes of a 20 MB history from a client that never reads\n`,
      );
      expect(peak - before).toBeLessThan(64 * 1024 * 1024);
      socket.terminate();
      // Writing the 20 MB history (FerretDB on a loaded machine: 20-40 s) comes before the wait for the close.
    }, 200_000);

    it('drains on SIGTERM: a gateway asks its clients to reconnect (1012), an executor hands back its runs', async () => {
      cluster = await startClusterOn({ counts: { gateway: 2, executor: 2 }, env: { SHUTDOWN_GRACE_SECONDS: '0' } });
      cluster.llm.setFallback(slowOnboardingReply(600));
      const chats = ['chat_t0', 'chat_t1', 'chat_t2', 'chat_t3'];
      const tokens = await Promise.all(chats.map((chat) => mintToken({ claims: { chat_id: chat } })));
      const clients = await Promise.all(tokens.map((t) => WsTestClient.connect(cluster.wsUrl(1, t))));
      clients.forEach((c, i) => c.send({ type: 'user_message', content: chats[i] }));
      // Which executor takes which chat is the queue's business: the one that leaves is one at work.
      await until(
        () => cluster.services.executor.some((e) => e.output.includes('workflow execution started')),
        10_000,
        'an executor at work',
      );
      const leaving = cluster.services.executor.find((e) => e.output.includes('workflow execution started'))!;
      const staying = cluster.services.executor.find((e) => e !== leaving)!;
      const gatewayExit = cluster.services.gateway[1]!.kill('SIGTERM');
      expect(await leaving.kill('SIGTERM')).toBe(0);
      expect(leaving.output).toContain('handed back');
      expect(await Promise.all(clients.map((c) => c.closed()))).toEqual([1012, 1012, 1012, 1012]);
      expect(await gatewayExit).toBe(0);

      const lastSeqs = clients.map((c) => Math.max(0, ...c.events.map((e) => (e.seq as number) ?? 0)));
      const again = await Promise.all(tokens.map((t, i) => WsTestClient.connect(cluster.wsUrl(0, t, lastSeqs[i]))));
      await Promise.all(again.map((c) => c.waitForType('usage_update', { timeoutMs: 30_000 })));
      again.forEach((c, i) => {
        const all = [...clients[i]!.events, ...c.events];
        expectGapless(all);
        expectOneReplyPerAgent(all, chats[i]!);
      });
      expect(staying.output).toMatch(/workflow execution (resumed|started)/);
      await Promise.all(again.map((c) => c.close()));
    });
    it("runs one chat's messages, sent at once from several sockets over two gateways, in the order they were accepted", async () => {
      cluster = await startClusterOn({ counts: { gateway: 2 }, workflowsDir: SHIPPED_WORKFLOWS });
      cluster.llm.setFallback((request: CompletionRequestBody) => {
        const said = String(request.messages.filter((m) => m.role === 'user').at(-1)?.content);
        return { content: `echo ${said}`, usage: { prompt_tokens: 5, completion_tokens: 2 }, delay_ms: 20 };
      });
      const token = await mintToken({ claims: { workflow_id: 'hello', chat_id: 'chat_order' } });
      const sockets = await Promise.all([0, 1, 0, 1].map((g) => WsTestClient.connect(cluster.wsUrl(g, token))));
      const sent = sockets.flatMap((socket, s) => Array.from({ length: 6 }, (_, i) => `s${s}m${i}`));
      sent.forEach((text) => sockets[Number(text[1])]!.send({ type: 'user_message', content: text }));
      const watcher = sockets[0]!;
      await until(
        () => watcher.events.filter((e) => e.type === 'usage_update').length === sent.length,
        60_000,
        'every message answered',
      );
      // The order the inbox accepted them in is the order their runs happened in.
      const stores = await openStore({
        dataDir: cluster.storeEnv.DATA_DIR ?? '/nonexistent',
        ...(cluster.storeEnv.MONGODB_URI
          ? { mongodbUri: cluster.storeEnv.MONGODB_URI, mongodbDatabase: cluster.storeEnv.MONGODB_DATABASE }
          : {}),
      });
      const accepted = (await stores.inbox.pending({ app_id: 'app_456', user_id: 'user_123' }, 'chat_order', 0, 100))
        .filter((i) => i.kind !== 'open')
        .map((i) => i.content);
      await stores.close();
      expect([...accepted].sort()).toEqual([...sent].sort());
      const ran = cluster.llm.requests.map((r) => String(r.messages.filter((m) => m.role === 'user').at(-1)?.content));
      expect(ran).toEqual(accepted);
      const replies = watcher.events.filter((e) => e.type === 'agent_message').map((e) => e.content);
      expect(replies).toEqual(accepted.map((text) => `echo ${text}`));
      expectGapless(watcher.events);
      await Promise.all(sockets.map((c) => c.close()));
    });

    it('answers a burst of 8 chats × 30 messages over two gateways and two executors, each chat in order, with no listener leak', async () => {
      cluster = await startClusterOn({ counts: { gateway: 2, executor: 2 }, workflowsDir: SHIPPED_WORKFLOWS });
      cluster.llm.setFallback((request: CompletionRequestBody) => {
        const said = String(request.messages.filter((m) => m.role === 'user').at(-1)?.content);
        return { content: `echo ${said}`, usage: { prompt_tokens: 5, completion_tokens: 2 } };
      });
      const chats = Array.from({ length: 8 }, (_, i) => `chat_burst${i}`);
      const clients = await Promise.all(
        chats.map(async (chat, i) =>
          WsTestClient.connect(
            cluster.wsUrl(i % 2, await mintToken({ claims: { workflow_id: 'hello', chat_id: chat } })),
          ),
        ),
      );
      clients.forEach((client, c) => {
        for (let i = 0; i < 30; i++) client.send({ type: 'user_message', content: `${chats[c]} m${i}` });
      });
      for (const client of clients)
        await until(
          () => client.events.filter((e) => e.type === 'usage_update').length === 30,
          120_000,
          'every message answered',
        );
      clients.forEach((client, c) => {
        expect(client.events.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual(
          Array.from({ length: 30 }, (_, i) => `echo ${chats[c]} m${i}`),
        );
        expectGapless(client.events);
      });
      for (const p of Object.values(cluster.services).flat())
        expect(p.output).not.toContain('MaxListenersExceededWarning');
      await Promise.all(clients.map((c) => c.close()));
      // As long as the wait above: 240 runs on FerretDB take 20-60 s on two loaded cores (3-5 s on SQLite).
    }, 150_000);

    it("cancels a chat's run from any gateway, whichever executor runs it", async () => {
      cluster = await startClusterOn({ counts: { gateway: 2, executor: 2 }, workflowsDir: SHIPPED_WORKFLOWS });
      cluster.llm.setFallback({
        content: 'a long and slow reply that goes on and on and on for a while',
        usage: { prompt_tokens: 5, completion_tokens: 20 },
        piece_delay_ms: 100,
      });
      for (let round = 0; round < 4; round++) {
        const token = await mintToken({ claims: { workflow_id: 'hello', chat_id: `chat_cancel${round}` } });
        const [asker, canceller] = await Promise.all([
          WsTestClient.connect(cluster.wsUrl(round % 2, token)),
          WsTestClient.connect(cluster.wsUrl((round + 1) % 2, token)),
        ]);
        asker.send({ type: 'user_message', content: 'go' });
        await asker.waitForDeltas(1);
        canceller.send({ type: 'cancel' });
        expect(await asker.waitForType('workflow_complete', { timeoutMs: 2000 })).toMatchObject({
          status: 'cancelled',
        });
        expect(await canceller.waitForType('usage_update')).toMatchObject({ estimated: true });
        await Promise.all([asker.close(), canceller.close()]);
      }
    });

    if (kind === 'mongodb') {
      it('shares nothing but NATS and MongoDB: no process writes under its data folder', async () => {
        cluster = await startClusterOn({ counts: { gateway: 2, executor: 2 }, workflowsDir: FIXTURE_WORKFLOWS });
        cluster.llm.push({ content: 'It is done.', usage: { prompt_tokens: 3, completion_tokens: 2 } });
        const client = await WsTestClient.connect(
          cluster.wsUrl(1, await mintToken({ claims: { workflow_id: 'tool_kit', chat_id: 'chat_nothing_local' } })),
        );
        await client.exchange('hello');
        await client.close();
        expect(readdirSync(cluster.dataDir.path)).toEqual([]);
      });

      it('rides out a database outage mid-run: /ready says 503 while it is down, the runs finish after', async () => {
        cluster = await startClusterOn({ workflowsDir: FIXTURE_WORKFLOWS });
        cluster.llm.setFallback({ content: 'done', usage: { prompt_tokens: 3, completion_tokens: 2 }, delay_ms: 500 });
        const chats = ['chat_m0', 'chat_m1'];
        const clients = await Promise.all(
          chats.map(async (chat) =>
            WsTestClient.connect(
              cluster.wsUrl(0, await mintToken({ claims: { workflow_id: 'tool_kit', chat_id: chat } })),
            ),
          ),
        );
        clients.forEach((c, i) => c.send({ type: 'user_message', content: chats[i] }));
        await until(() => cluster.llm.requests.length >= 1, 10_000, 'a run at its model call');
        await mongo!.stop();
        const gateway = cluster.services.gateway[0]!;
        const executor = cluster.services.executor[0]!;
        const status = async (url: string) => (await fetch(`${url}/ready`)).status;
        for (let i = 0; i < 100 && ((await status(gateway.url)) !== 503 || (await status(executor.url)) !== 503); i++)
          await new Promise((r) => setTimeout(r, 100));
        expect(await status(gateway.url)).toBe(503);
        expect(await status(executor.url)).toBe(503);
        await new Promise((r) => setTimeout(r, 1000));
        await mongo!.start();
        await Promise.all(clients.map((c) => c.waitForType('usage_update', { timeoutMs: 60_000 })));
        clients.forEach((c) => {
          expectGapless(c.events);
          expect(c.events.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual(['done']);
          expect(c.events.filter((e) => e.type === 'usage_update')).toHaveLength(1);
        });
        for (let i = 0; i < 100 && ((await status(gateway.url)) !== 200 || (await status(executor.url)) !== 200); i++)
          await new Promise((r) => setTimeout(r, 100));
        expect(await status(gateway.url)).toBe(200);
        expect(await status(executor.url)).toBe(200);
        await Promise.all(clients.map((c) => c.close()));
      });
    }
  });
}

distributedSuite('sqlite');
if (mongoTestServerAvailable()) distributedSuite('mongodb');
