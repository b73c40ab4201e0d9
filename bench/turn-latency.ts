// bench/turn-latency: the runtime's overhead per agent turn (user_message in → agent_message out,
// with an LLM endpoint that answers at once), standalone and distributed, next to the floor
// measured in the same run: one WebSocket echo + one NATS request/reply + one HTTP call to the
// same endpoint. Every part runs in its own process. The distributed runtime is measured on the
// embedded SQLite store and on MongoDB (MONGODB_URI, else a private FerretDB when one is built),
// with the store commands each turn costs and the store round trips it waits for (counted by
// delaying each one through a proxy). Prints figures; never fails on timing.
//
//   npm run bench:turn-latency            (TURNS=500 to change the sample size;
//                                          PROFILE_DIR=/tmp/prof writes the CPU profile of standalone and of each
//                                          distributed service there;
//                                          SKIP_MONGODB=1 measures the SQLite store only)
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { WebSocket } from 'ws';
import { makeTempDir, mintToken, startMongoTestServer, startNatsServer } from '@mozaiks/testing';
import type { MongoTestServer } from '@mozaiks/testing';
import { startDelayProxy } from './delay-proxy';
import { SERVICES, cpuMs, ms, percentiles, run, runtimeEnv, startDistributed, startLlm, startStandalone, stop, waitFor } from './harness';
import type { Child } from './harness';

/** Delays the proxy adds to each store round trip when counting them. */
const ROUND_TRIP_DELAYS_MS = [20, 70] as const;
/** Turns measured through the delaying proxy. */
const DELAYED_TURNS = 60;
const TURNS = Number(process.env.TURNS ?? 300);
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
async function measureTurns(urlFor: (chat: string) => Promise<string>, label: string, turns = TURNS, onMeasuring?: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  await turnsOver(urlFor, `${label}_warm`, WARMUP_TURNS);
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
  for (const match of text.matchAll(/^ferretdb_client_requests_total\{command="([^"]+)",opcode="OP_MSG"\} (\d+)/gm)) counts.set(match[1]!, Number(match[2]));
  return counts;
}

/** Commands per turn between two readings, leaving out connection upkeep (hello, ping). */
function diffCommands(before: Map<string, number>, after: Map<string, number>, turns: number): string {
  const upkeep = new Set(['hello', 'ismaster', 'isMaster', 'ping', 'endSessions', 'buildInfo', 'saslStart', 'saslContinue']);
  const rows = [...after].filter(([name]) => !upkeep.has(name)).map(([name, n]) => [name, (n - (before.get(name) ?? 0)) / turns] as const).filter(([, n]) => n > 0);
  const total = rows.reduce((s, [, n]) => s + n, 0);
  return `${total.toFixed(1)} (${rows.map(([name, n]) => `${name} ${n.toFixed(1)}`).join(', ')})`;
}

async function main(): Promise<void> {
  const children: Child[] = [];
  let mongo: MongoTestServer | undefined;
  const nats = await startNatsServer();
  const data = makeTempDir('mozaiks-bench-');
  try {
    // The LLM endpoint, answering at once.
    const { child: llm, url: llmUrl } = await startLlm();
    children.push(llm);

    // Floor: a WebSocket echo, a NATS request/reply, an HTTP call to the endpoint.
    const echo = run(['-e', `const { WebSocketServer } = require('ws'); const s = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => console.log('PORT ' + s.address().port)); s.on('connection', (c) => c.on('message', (m) => c.send(m)));`]);
    children.push(echo);
    const echoPort = (await waitFor(echo, /PORT (\d+)/))[1]!;
    const responder = run(['-e', `require('@nats-io/transport-node').connect({ servers: '${nats.url}' }).then((nc) => { nc.subscribe('bench.echo', { callback: (_e, m) => m.respond(m.data) }); nc.flush().then(() => console.log('READY')); })`]);
    children.push(responder);
    await waitFor(responder, /READY/);

    const ws = new WebSocket(`ws://127.0.0.1:${echoPort}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const wsEcho = await measure(TURNS, () => new Promise<void>((resolve) => (ws.once('message', () => resolve()), ws.send('{"type":"ping"}'))));
    ws.close();
    const nc = await connect({ servers: nats.url });
    const natsRequest = await measure(TURNS, async () => void (await nc.request('bench.echo', 'ping', { timeout: 5000 })));
    await nc.close();
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    const httpCall = await measure(TURNS, async () => void (await (await fetch(`${llmUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body })).json()));
    const floor = { p50: wsEcho.p50 + natsRequest.p50 + httpCall.p50, p99: wsEcho.p99 + natsRequest.p99 + httpCall.p99 };

    const env = runtimeEnv(llmUrl);
    const token = (chat: string) => mintToken({ claims: { workflow_id: 'bench_echo', chat_id: chat } });

    // Standalone: one process.
    const standaloneRuntime = await startStandalone({ ...env, DATA_DIR: path.join(data.path, 'standalone') }, {
      nodeFlags: PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, '--cpu-prof-name=standalone.cpuprofile'] : [],
    });
    const standalone = standaloneRuntime.children.get('standalone')!;
    children.push(standalone);
    const standalonePort = standaloneRuntime.port;
    let standaloneCpu = 0;
    const standaloneTurn = await measureTurns(async (chat) => `ws://127.0.0.1:${standalonePort}/ws/chat?token=${await token(chat)}`, 'standalone', TURNS, async () => {
      standaloneCpu = cpuMs(standalone.proc.pid);
    });
    const standaloneCpuPerTurn = (cpuMs(standalone.proc.pid) - standaloneCpu) / TURNS;
    await stop(standalone);

    // Distributed: gateway, executor, tool-runner, usage-emitter processes on NATS, on each store.
    const distributed = async (label: string, storeEnv: Record<string, string>, profile: boolean, turns = TURNS) => {
      const distributedEnv = { ...env, NATS_URL: nats.url, ...storeEnv };
      const runtime = await startDistributed(distributedEnv, {
        nodeFlags: (service) => (profile && PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${service}.cpuprofile`] : []),
      });
      const started = SERVICES.map((name) => runtime.children.get(name)!);
      children.push(...started);
      const gatewayPort = runtime.port;
      let cpuBefore: number[] = [];
      let commandsBefore: Map<string, number> | undefined;
      const turn = await measureTurns(async (chat) => `ws://127.0.0.1:${gatewayPort}/ws/chat?token=${await token(chat)}`, `distributed_${label}`, turns, async () => {
        cpuBefore = started.map((c) => cpuMs(c.proc.pid));
        commandsBefore = mongo && storeEnv.MONGODB_URI ? await storeCommands(mongo) : undefined;
      });
      const cpuPerTurn = started.map((c, i) => (cpuMs(c.proc.pid) - cpuBefore[i]!) / turns);
      const commands = commandsBefore ? diffCommands(commandsBefore, await storeCommands(mongo!), turns) : undefined;
      // Profiles are written when a process exits on its own: the services are stopped gracefully.
      await Promise.all(started.map((c) => stop(c)));
      return { turn, cpuPerTurn, commands };
    };
    const onSqlite = await distributed('sqlite', { DATA_DIR: path.join(data.path, 'distributed') }, true);
    mongo = process.env.SKIP_MONGODB ? undefined : await startMongoTestServer();
    const onMongo = mongo ? await distributed('mongodb', { MONGODB_URI: mongo.uri, MONGODB_DATABASE: mongo.database(), DATA_DIR: path.join(data.path, 'unused') }, false) : undefined;
    // The same through a proxy that adds a delay to every store round trip, at two delays: the
    // turn grows by the difference once per round trip it waits for in sequence.
    let roundTrips: number | undefined;
    if (mongo && onMongo) {
      const upstream = new URL(mongo.uri);
      const p50At = async (delayMs: number) => {
        const proxy = await startDelayProxy({ host: upstream.hostname, port: Number(upstream.port || 27017) }, delayMs);
        try {
          const slowed = new URL(mongo!.uri);
          slowed.host = `127.0.0.1:${proxy.port}`;
          const storeEnv = { MONGODB_URI: slowed.toString(), MONGODB_DATABASE: mongo!.database(), DATA_DIR: path.join(data.path, 'unused') };
          return (await distributed(`mongodb_delayed_${delayMs}`, storeEnv, false, DELAYED_TURNS)).turn.p50;
        } finally {
          await proxy.close();
        }
      };
      const [low, high] = ROUND_TRIP_DELAYS_MS;
      roundTrips = ((await p50At(high)) - (await p50At(low))) / (high - low);
    }
    const distributedTurn = onSqlite.turn;

    const rows: Array<[string, { p50: number; p99: number }]> = [
      ['floor: WebSocket echo', wsEcho],
      ['floor: NATS request/reply', natsRequest],
      ['floor: HTTP call to the LLM endpoint', httpCall],
      ['floor: sum', floor],
      ['standalone turn', standaloneTurn],
      ['distributed turn, SQLite', distributedTurn],
      ...(onMongo ? [[`distributed turn, MongoDB (${mongo!.kind})`, onMongo.turn] as [string, { p50: number; p99: number }]] : []),
    ];
    console.log(`turn latency, ${TURNS} sequential turns each (after ${WARMUP} warm-up calls of the floor, ${WARMUP_TURNS} warm-up turns of the runtime; runtime turns over chats of ${TURNS_PER_CHAT} turns, each sent once the previous run ended), every part in its own process; CPU per turn is user + system time of every thread over the measured turns (chat opening included)`);
    for (const [name, r] of rows) console.log(`${name.padEnd(40)} p50 ${ms(r.p50).padStart(10)}   p99 ${ms(r.p99).padStart(10)}`);
    console.log(`standalone  p50 = ${(standaloneTurn.p50 / floor.p50).toFixed(2)} x floor, overhead ${ms(standaloneTurn.p50 - floor.p50)}; CPU per turn ${ms(standaloneCpuPerTurn)}`);
    const names = SERVICES;
    for (const [label, result] of [['SQLite', onSqlite], ['MongoDB', onMongo]] as const) {
      if (!result) {
        console.log(`distributed on MongoDB: not measured (no MONGODB_URI and no ferretdb binary; \`npm test\` builds one)`);
        continue;
      }
      console.log(`distributed on ${label}: p50 = ${(result.turn.p50 / floor.p50).toFixed(2)} x floor, overhead ${ms(result.turn.p50 - floor.p50)}; CPU per turn: ${names.map((n, i) => `${n} ${ms(result.cpuPerTurn[i]!)}`).join(', ')}`);
      if (result.commands) console.log(`  store commands per turn (all processes): ${result.commands}`);
      if (label === 'MongoDB' && roundTrips !== undefined) {
        const [low, high] = ROUND_TRIP_DELAYS_MS;
        console.log(`  store round trips a turn waits for, one after another: ${roundTrips.toFixed(1)} (p50 with every round trip delayed ${high} ms, minus p50 at ${low} ms, over ${high - low} ms; goal: at most 3)`);
      }
    }
    if (PROFILE_DIR) console.log(`CPU profiles of the distributed services on SQLite in ${PROFILE_DIR} (open them in Chrome DevTools' Performance panel)`);
  } finally {
    for (const child of children) child.proc.kill('SIGKILL');
    await mongo?.dispose();
    await nats.dispose();
    data.remove();
  }
}

void main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
