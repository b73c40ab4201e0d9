// nats-server restarted under load, as an operator's rolling restart does it: two executors, one
// tool-runner, six chats whose agent calls a JavaScript and a Python tool with a side effect; the
// restart lands while the tools run and while the model answers, several times in one run. Every
// run completes within 10 s of NATS being back, and each tool's side effect happens once.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WsTestClient, mintToken, mongoTestServerAvailable, startMongoTestServer } from '@mozaiks/testing';
import type { CompletionRequestBody } from '@mozaiks/llm';
import type { MongoTestServer } from '@mozaiks/testing';
import { expectGapless, startCluster, until } from './cluster';
import type { Cluster, ClusterStore } from './cluster';
import { FIXTURE_WORKFLOWS } from './harness';

const CHATS = Array.from({ length: 6 }, (_, i) => `chat_restart_${i}`);
/** How long nats-server stays away. */
const OUTAGE_MS = 1600;
/** The goal: every run ends this soon after NATS is back. */
const BACK_WITHIN_MS = 10_000;

/** A ledger service the tools post to: each post is one side effect. */
async function startLedger(): Promise<{ url: string; entries: string[]; close: () => Promise<void> }> {
  const entries: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => (entries.push(body), res.writeHead(201).end()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ledger`,
    entries,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function restartSuite(kind: ClusterStore['kind']): void {
  describe(`a nats-server restart under load (${kind === 'mongodb' ? 'MongoDB' : 'SQLite'})`, () => {
    let mongo: MongoTestServer | undefined;
    let cluster: Cluster | undefined;
    beforeAll(async () => {
      if (kind === 'mongodb') mongo = await startMongoTestServer();
    }, 30_000);
    afterAll(async () => {
      await cluster?.stop();
      await mongo?.dispose();
    });

    it('completes every run within 10 s of NATS being back, restarted during tool calls and during model calls, each side effect once', async () => {
      const ledger = await startLedger();
      try {
        // The defaults an operator runs with (the cluster's test settings shorten them), and room
        // for every tool call at once, so the time measured is the restart's, not the queue's.
        cluster = await startCluster({
          counts: { executor: 2 },
          workflowsDir: FIXTURE_WORKFLOWS,
          env: {
            LEDGER_URL: ledger.url,
            RUN_ACK_WAIT_SECONDS: '30',
            CHAT_LEASE_SECONDS: '15',
            TOOL_CONCURRENCY: '12',
            TOOL_CONCURRENCY_PER_APP: '12',
          },
          store: kind === 'mongodb' ? { kind, server: mongo! } : { kind },
        });
        let latencyMs = 800;
        // Each user message: both tools in one round, then a reply once their results are in.
        cluster.llm.setFallback((request: CompletionRequestBody) => {
          const last = request.messages.at(-1)!;
          if (last.role === 'tool')
            return { content: 'recorded', usage: { prompt_tokens: 5, completion_tokens: 3 }, delay_ms: latencyMs };
          const entry = JSON.stringify({ entry: String(last.content) });
          return {
            tool_calls: [
              { name: 'record', arguments: entry },
              { name: 'record_py', arguments: entry },
            ],
            usage: { prompt_tokens: 5, completion_tokens: 3 },
            delay_ms: latencyMs,
          };
        });
        const clients = await Promise.all(
          CHATS.map(async (chat) =>
            WsTestClient.connect(
              cluster!.wsUrl(0, await mintToken({ claims: { workflow_id: 'side_effects', chat_id: chat } })),
            ),
          ),
        );
        const rounds: Array<{ during: 'tool calls' | 'model calls'; latencyMs: number }> = [
          { during: 'tool calls', latencyMs: 800 },
          { during: 'model calls', latencyMs: 2000 },
          { during: 'tool calls', latencyMs: 800 },
        ];
        const late: string[] = [];
        const worst: string[] = [];
        for (const [round, { during, latencyMs: latency }] of rounds.entries()) {
          latencyMs = latency;
          const from = clients.map((c) => c.events.length);
          const asked = cluster.llm.requests.length;
          clients.forEach((c, i) => c.send({ type: 'user_message', content: `round ${round} of ${CHATS[i]}` }));
          if (during === 'tool calls') {
            // The tools take 1.5 s: NATS goes away while every one of them runs.
            await until(
              () => clients.every((c, i) => c.events.slice(from[i]).filter((e) => e.type === 'tool_call').length === 2),
              15_000,
              'every tool call started',
            );
          } else {
            await until(() => cluster!.llm.requests.length >= asked + CHATS.length, 15_000, 'every model call started');
          }
          await cluster.nats.stop();
          await new Promise((r) => setTimeout(r, OUTAGE_MS));
          await cluster.nats.start();
          const back = Date.now();
          const took = await Promise.all(
            clients.map(async (c, i) => {
              await c.waitForType('usage_update', { from: from[i], timeoutMs: 70_000 });
              const ms = Date.now() - back;
              if (ms > BACK_WITHIN_MS)
                late.push(`${CHATS[i]} (round ${round}, during ${during}): ${ms} ms after NATS was back`);
              return ms;
            }),
          );
          worst.push(`during ${during}: ${Math.max(...took)} ms`);
          clients.forEach((c, i) => {
            const results = c.events.slice(from[i]).filter((e) => e.type === 'tool_result');
            expect(
              results.map((r) => [r.name, r.ok, (r.result as { recorded?: string } | undefined)?.recorded]),
            ).toEqual([
              ['record', true, `round ${round} of ${CHATS[i]}`],
              ['record_py', true, `round ${round} of ${CHATS[i]}`],
            ]);
          });
        }
        console.log(
          `${kind}: runs ended after NATS was back, worst of ${CHATS.length} per restart: ${worst.join(', ')}`,
        );
        expect(late).toEqual([]);
        // Each tool's side effect once: two per chat and round, none repeated.
        const expected = rounds.flatMap((_, round) =>
          CHATS.flatMap((chat) => [`round ${round} of ${chat}`, `py:round ${round} of ${chat}`]),
        );
        await until(() => ledger.entries.length >= expected.length, 5000, 'every side effect');
        expect([...ledger.entries].sort()).toEqual(expected.sort());
        clients.forEach((c) => expectGapless(c.events));
        for (const executor of cluster.services.executor) {
          expect(executor.output).toMatch(/"level":"WARN"[^\n]*"message":"lost the NATS connection; reconnecting"/);
          expect(executor.output).toMatch(/"level":"INFO"[^\n]*"message":"NATS connection back"/);
        }
        await Promise.all(clients.map((c) => c.close()));
      } finally {
        await ledger.close();
      }
      // Three restarts, each waited out (at most 70 s a round when something is wrong).
    }, 300_000);
  });
}

restartSuite('sqlite');
if (mongoTestServerAvailable()) restartSuite('mongodb');
