// bench/turn-latency: the runtime's overhead per agent turn (user_message in → agent_message out,
// with an LLM endpoint that answers at once), standalone and distributed, next to the floor
// measured in the same run: one WebSocket echo + one NATS request/reply + one HTTP call to the
// same endpoint. Every part runs in its own process. The distributed runtime is measured on the
// embedded SQLite store and on MongoDB (MONGODB_URI, else a private FerretDB when one is built),
// with the store commands each turn costs and the store round trips it waits for (counted by
// delaying each one through a proxy). Prints figures; never fails on timing.
//
//   npm run bench:turn-latency            (TURNS=300 turns per round, ROUNDS=3;
//                                          PROFILE_DIR=/tmp/prof writes the CPU profile of standalone and of each
//                                          distributed service there;
//                                          SKIP_MONGODB=1 measures the SQLite store only)
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { WebSocket } from 'ws';
import { mintToken, startMongoTestServer } from '@mozaiks/testing';
import type { MongoTestServer } from '@mozaiks/testing';
import { startDelayProxy } from './delay-proxy';
import { cpuMs, run, stop, waitFor } from './harness/processes';
import type { Child } from './harness/processes';
import { runBench, runtimeEnv, SERVICES, startDistributed, startLlm, startStandalone } from './harness/runtime';
import { ms, percentiles, showSpread, spread } from './harness/stats';
import type { Percentiles } from './harness/stats';

/** One round of turns: latency, and CPU per turn of each process measured. */
interface TurnRound extends Percentiles {
  cpu: number[];
}

/** Delays the proxy adds to each store round trip when counting them. */
const ROUND_TRIP_DELAYS_MS = [20, 70] as const;
/** Turns measured through the delaying proxy. */
const DELAYED_TURNS = 60;
const TURNS = Number(process.env.TURNS ?? 300);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const WARMUP = 30;
/** Turns run before a runtime's turns are measured: its code warmed up by the JIT. */
const WARMUP_TURNS = 100;
const PROFILE_DIR = process.env.PROFILE_DIR;

async function measure(n: number, once: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < WARMUP; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    samples.push(performance.now() - t);
  }
  return percentiles(samples);
}

/** Turns per chat: a chat's whole history goes to the model each turn, so chats are kept short. */
const TURNS_PER_CHAT = 10;

/** Measures turns over fresh chats of TURNS_PER_CHAT turns each; connecting is not timed. */
async function turnsOver(urlFor: (chat: string) => Promise<string>, label: string, turns: number): Promise<number[]> {
  const samples: number[] = [];
  for (let chat = 0; samples.length < turns; chat++) {
    const client = await turnClient(await urlFor(`${label}_${chat}`));
    for (let i = 0; i < TURNS_PER_CHAT && samples.length < turns; i++) samples.push(await client.turn());
    client.close();
  }
  return samples;
}

/**
 * Measures `turns` turns after WARMUP_TURNS of warm-up (on chats of their own); `onMeasuring` is
 * called between the two, where CPU counters are read.
 */
async function measureTurns(
  urlFor: (chat: string) => Promise<string>,
  label: string,
  turns = TURNS,
  onMeasuring?: () => Promise<void>,
  warmup = WARMUP_TURNS,
): Promise<{ p50: number; p99: number }> {
  if (warmup > 0) await turnsOver(urlFor, `${label}_warm`, warmup);
  await onMeasuring?.();
  return percentiles(await turnsOver(urlFor, label, turns));
}

/**
 * A socket that sends a user message and resolves on the agent's reply. The next message goes
 * only after the run has ended (its usage_update), as a person answers after reading: the turn
 * measured is not queued behind the end of the one before.
 */
async function turnClient(url: string): Promise<{ turn: () => Promise<number>; close: () => void }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
  let replied: (() => void) | undefined;
  let ended: Promise<void> = Promise.resolve();
  let endRun: (() => void) | undefined;
  socket.on('message', (data) => {
    const type = (JSON.parse(data.toString()) as { type: string }).type;
    if (type === 'agent_message') replied?.();
    if (type === 'usage_update') endRun?.();
  });
  return {
    turn: async () => {
      await ended;
      ended = new Promise<void>((resolve) => (endRun = resolve));
      const t = performance.now();
      await new Promise<void>((resolve) => {
        replied = resolve;
        socket.send(JSON.stringify({ type: 'user_message', content: 'ping' }));
      });
      return performance.now() - t;
    },
    close: () => socket.close(),
  };
}

/** Commands the MongoDB server has answered so far, by name (FerretDB's metrics). */
async function storeCommands(mongo: MongoTestServer): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (!mongo.metricsUrl) return counts;
  const text = await (await fetch(mongo.metricsUrl)).text();
  for (const match of text.matchAll(/^ferretdb_client_requests_total\{command="([^"]+)",opcode="OP_MSG"\} (\d+)/gm))
    counts.set(match[1]!, Number(match[2]));
  return counts;
}

/** Commands per turn between two readings, leaving out connection upkeep (hello, ping). */
function diffCommands(before: Map<string, number>, after: Map<string, number>, turns: number): string {
  const upkeep = new Set([
    'hello',
    'ismaster',
    'isMaster',
    'ping',
    'endSessions',
    'buildInfo',
    'saslStart',
    'saslContinue',
  ]);
  const rows = [...after]
    .filter(([name]) => !upkeep.has(name))
    .map(([name, n]) => [name, (n - (before.get(name) ?? 0)) / turns] as const)
    .filter(([, n]) => n > 0);
  const total = rows.reduce((s, [, n]) => s + n, 0);
  return `${total.toFixed(1)} (${rows.map(([name, n]) => `${name} ${n.toFixed(1)}`).join(', ')})`;
}

runBench('mozaiks-bench-', async ({ nats, data, children, onCleanup }) => {
  // Assigned once the SQLite rounds are done; the closures below read it when they run.
  // eslint-disable-next-line prefer-const
  let mongo: MongoTestServer | undefined;
  onCleanup(async () => mongo?.dispose());
  // The LLM endpoint, answering at once.
  const { child: llm, url: llmUrl } = await startLlm();
  children.push(llm);

  // Floor: a WebSocket echo, a NATS request/reply, an HTTP call to the endpoint.
  const echo = run([
    '-e',
    `const { WebSocketServer } = require('ws'); const s = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => console.log('PORT ' + s.address().port)); s.on('connection', (c) => c.on('message', (m) => c.send(m)));`,
  ]);
  children.push(echo);
  const echoPort = (await waitFor(echo, /PORT (\d+)/))[1]!;
  const responder = run([
    '-e',
    `require('@nats-io/transport-node').connect({ servers: '${nats.url}' }).then((nc) => { nc.subscribe('bench.echo', { callback: (_e, m) => m.respond(m.data) }); nc.flush().then(() => console.log('READY')); })`,
  ]);
  children.push(responder);
  await waitFor(responder, /READY/);

  const ws = new WebSocket(`ws://127.0.0.1:${echoPort}`);
  await new Promise((resolve) => ws.once('open', resolve));
  const nc = await connect({ servers: nats.url });
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
  const floorRounds: Array<{ ws: Percentiles; nats: Percentiles; http: Percentiles; sum: Percentiles }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const wsEcho = await measure(
      TURNS,
      () => new Promise<void>((resolve) => (ws.once('message', () => resolve()), ws.send('{"type":"ping"}'))),
    );
    const natsRequest = await measure(
      TURNS,
      async () => void (await nc.request('bench.echo', 'ping', { timeout: 5000 })),
    );
    const httpCall = await measure(
      TURNS,
      async () =>
        void (await (
          await fetch(`${llmUrl}/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
            body,
          })
        ).json()),
    );
    floorRounds.push({
      ws: wsEcho,
      nats: natsRequest,
      http: httpCall,
      sum: { p50: wsEcho.p50 + natsRequest.p50 + httpCall.p50, p99: wsEcho.p99 + natsRequest.p99 + httpCall.p99 },
    });
  }
  ws.close();
  await nc.close();

  const env = runtimeEnv(llmUrl);
  const token = (chat: string) => mintToken({ claims: { workflow_id: 'bench_echo', chat_id: chat } });
  /** ROUNDS measurements of `turns` turns on a started runtime, with each process's CPU per turn. */
  const rounds = async (
    port: number,
    label: string,
    processes: Child[],
    turns = TURNS,
    onRound?: () => Promise<void>,
    count = ROUNDS,
  ): Promise<TurnRound[]> => {
    const results: TurnRound[] = [];
    for (let round = 0; round < count; round++) {
      let cpuBefore: number[] = [];
      const turn = await measureTurns(
        async (chat) => `ws://127.0.0.1:${port}/ws/chat?token=${await token(chat)}`,
        `${label}_${round}`,
        turns,
        async () => {
          cpuBefore = processes.map((c) => cpuMs(c.proc.pid));
          await onRound?.();
        },
        round === 0 ? WARMUP_TURNS : 0,
      );
      results.push({ ...turn, cpu: processes.map((c, i) => (cpuMs(c.proc.pid) - cpuBefore[i]!) / turns) });
    }
    return results;
  };

  // Standalone: one process.
  const standaloneRuntime = await startStandalone(
    { ...env, DATA_DIR: path.join(data.path, 'standalone') },
    {
      nodeFlags: PROFILE_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, '--cpu-prof-name=standalone.cpuprofile']
        : [],
    },
  );
  const standalone = standaloneRuntime.children.get('standalone')!;
  children.push(standalone);
  const onStandalone = await rounds(standaloneRuntime.port, 'standalone', [standalone]);
  await stop(standalone);

  // Distributed: gateway, executor, tool-runner, usage-emitter processes on NATS, on each store.
  const distributed = async (
    label: string,
    storeEnv: Record<string, string>,
    profile: boolean,
    turns = TURNS,
    count = ROUNDS,
  ) => {
    const runtime = await startDistributed(
      { ...env, NATS_URL: nats.url, ...storeEnv },
      {
        nodeFlags: (service) =>
          profile && PROFILE_DIR
            ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${service}.cpuprofile`]
            : [],
      },
    );
    const started = SERVICES.map((name) => runtime.children.get(name)!);
    children.push(...started);
    let commandsBefore: Map<string, number> | undefined;
    const measured = await rounds(
      runtime.port,
      `distributed_${label}`,
      started,
      turns,
      async () => {
        commandsBefore = mongo && storeEnv.MONGODB_URI ? await storeCommands(mongo) : undefined;
      },
      count,
    );
    // Store commands of the last round.
    const commands = commandsBefore ? diffCommands(commandsBefore, await storeCommands(mongo!), turns) : undefined;
    // Profiles are written when a process exits on its own: the services are stopped gracefully.
    await Promise.all(started.map((c) => stop(c)));
    return { rounds: measured, commands };
  };
  const onSqlite = await distributed('sqlite', { DATA_DIR: path.join(data.path, 'distributed') }, true);
  mongo = process.env.SKIP_MONGODB ? undefined : await startMongoTestServer();
  const onMongo = mongo
    ? await distributed(
        'mongodb',
        { MONGODB_URI: mongo.uri, MONGODB_DATABASE: mongo.database(), DATA_DIR: path.join(data.path, 'unused') },
        false,
      )
    : undefined;
  // The same through a proxy that adds a delay to every store round trip, at two delays: the
  // turn grows by the difference once per round trip it waits for in sequence.
  let roundTrips: number | undefined;
  if (mongo && onMongo) {
    const upstream = new URL(mongo.uri);
    const p50At = async (delayMs: number) => {
      const proxy = await startDelayProxy({ host: upstream.hostname, port: Number(upstream.port || 27017) }, delayMs);
      try {
        const slowed = new URL(mongo.uri);
        slowed.host = `127.0.0.1:${proxy.port}`;
        const storeEnv = {
          MONGODB_URI: slowed.toString(),
          MONGODB_DATABASE: mongo.database(),
          DATA_DIR: path.join(data.path, 'unused'),
        };
        return (await distributed(`mongodb_delayed_${delayMs}`, storeEnv, false, DELAYED_TURNS, 1)).rounds[0]!.p50;
      } finally {
        await proxy.close();
      }
    };
    const [low, high] = ROUND_TRIP_DELAYS_MS;
    roundTrips = ((await p50At(high)) - (await p50At(low))) / (high - low);
  }

  const latency = (values: Percentiles[]) =>
    `p50 ${showSpread(spread(values.map((v) => v.p50)), ' ms', 2).padEnd(28)} p99 ${showSpread(spread(values.map((v) => v.p99)), ' ms', 2)}`;
  const floorP50 = spread(floorRounds.map((f) => f.sum.p50)).median;
  const floorP99 = spread(floorRounds.map((f) => f.sum.p99)).median;
  const ratios = (values: TurnRound[]) => {
    const p50 = spread(values.map((v) => v.p50)).median;
    const p99 = spread(values.map((v) => v.p99)).median;
    return `p50 = ${(p50 / floorP50).toFixed(2)} x floor (overhead ${ms(p50 - floorP50)}), p99 = ${(p99 / floorP99).toFixed(2)} x floor p99`;
  };
  const cpu = (values: TurnRound[], names: readonly string[]) => {
    const total = spread(values.map((v) => v.cpu.reduce((a, b) => a + b, 0)));
    const each = names.map((n, i) => `${n} ${showSpread(spread(values.map((v) => v.cpu[i]!)), ' ms', 2)}`);
    return `CPU per turn ${showSpread(total, ' ms', 2)}${names.length > 1 ? ` (${each.join(', ')})` : ''}`;
  };
  console.log(
    `turn latency: ${ROUNDS} rounds of ${TURNS} sequential turns (after ${WARMUP} warm-up calls of the floor, ${WARMUP_TURNS} warm-up turns of the runtime; runtime turns over chats of ${TURNS_PER_CHAT} turns, each sent once the previous run ended), every part in its own process; figures are min / median / max over the rounds; CPU is user + system time of every thread of the process over the measured turns (chat openings included)`,
  );
  const rows: Array<[string, Percentiles[]]> = [
    ['floor: WebSocket echo', floorRounds.map((f) => f.ws)],
    ['floor: NATS request/reply', floorRounds.map((f) => f.nats)],
    ['floor: HTTP call to the LLM endpoint', floorRounds.map((f) => f.http)],
    ['floor: sum', floorRounds.map((f) => f.sum)],
    ['standalone turn', onStandalone],
    ['distributed turn, SQLite', onSqlite.rounds],
    ...(onMongo ? [[`distributed turn, MongoDB (${mongo!.kind})`, onMongo.rounds] as [string, Percentiles[]]] : []),
  ];
  for (const [name, values] of rows) console.log(`${name.padEnd(40)} ${latency(values)}`);
  console.log(`standalone: ${ratios(onStandalone)}; ${cpu(onStandalone, ['standalone'])}`);
  for (const [label, result] of [
    ['SQLite', onSqlite],
    ['MongoDB', onMongo],
  ] as const) {
    if (!result) {
      console.log(
        `distributed on MongoDB: not measured (SKIP_MONGODB, or no MONGODB_URI and no ferretdb binary; \`npm test\` builds one)`,
      );
      continue;
    }
    console.log(`distributed on ${label}: ${ratios(result.rounds)}; ${cpu(result.rounds, SERVICES)}`);
    if (result.commands) console.log(`  store commands per turn (all processes): ${result.commands}`);
    if (label === 'MongoDB' && roundTrips !== undefined) {
      const [low, high] = ROUND_TRIP_DELAYS_MS;
      console.log(
        `  store round trips a turn waits for, one after another: ${roundTrips.toFixed(1)} (p50 with every round trip delayed ${high} ms, minus p50 at ${low} ms, over ${high - low} ms; goal: at most 3)`,
      );
    }
  }
  if (PROFILE_DIR)
    console.log(
      `CPU profiles of standalone and of the distributed services on SQLite in ${PROFILE_DIR} (open them in Chrome DevTools' Performance panel)`,
    );
});
