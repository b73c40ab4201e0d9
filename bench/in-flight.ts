// bench/in-flight: N chats waiting on a slow model at once, on one executor. Every chat's socket is
// open first (not timed); then each sends one message at the same moment, and the time to its
// agent's reply is measured. The model answers after LLM_LATENCY_MS, so the extra latency (reply
// time minus that) is what the runtime adds under load. The floor is a harness doing the same
// with no runtime: a WebSocket relay that makes a NATS request to a process that makes the HTTP
// call, at the same N. Reported per N over ROUNDS rounds (min / median / max): extra latency p50
// and p99, the executor's event-loop lag (worst p99 over 1-s windows, and its max) and failures
// (an error event, a closed socket, or no reply within 3 minutes). Prints figures; never fails on timing.
//
//   npm run bench:in-flight               (N=1000,5000 ROUNDS=3 LLM_LATENCY_MS=500; MODES=floor,distributed,standalone;
//                                          PROFILE_DIR=/tmp/prof writes the CPU profiles of standalone and the distributed services there)
import path from 'node:path';
import { mintToken } from '@mozaiks/testing';
import { rssKiB, run, scrape, stop, waitFor } from './harness/processes';
import { executorSettled, runBench, runtimeEnv, startDistributed, startLlm, startStandalone } from './harness/runtime';
import type { Runtime } from './harness/runtime';
import { ms, percentiles, showSpread, spread } from './harness/stats';
import { fireAll, openAll } from './harness/sockets';

const COUNTS = (process.env.N ?? '1000,5000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const LLM_LATENCY_MS = Number(process.env.LLM_LATENCY_MS ?? 500);
const MODES = (process.env.MODES ?? 'floor,distributed,standalone').split(',');
const PROFILE_DIR = process.env.PROFILE_DIR;

interface Round {
  extra: { p50: number; p99: number };
  failures: number;
  /** Worst p99 of the executor's event-loop delay over 1-s windows, and its max (ms); NaN for the floor. */
  lagP99: number;
  lagMax: number;
  /** The executor's (standalone's) highest resident memory during the round, in MiB. */
  rssMiB: number;
}

/** Samples a service's event-loop delay and memory every second until stopped: worst p99, max (ms) and peak RSS (MiB). */
function watchLag(
  metricsUrl: string,
  pid: number,
): { stop: () => Promise<{ p99: number; max: number; rssMiB: number }> } {
  let p99 = 0;
  let max = 0;
  let rss = 0;
  let running = true;
  const loop = (async () => {
    // The first scrape resets the window the idle time before the round filled.
    await scrape(metricsUrl).catch(() => undefined);
    while (running) {
      await new Promise((r) => setTimeout(r, 1000));
      rss = Math.max(rss, rssKiB(pid) / 1024);
      const samples = await scrape(metricsUrl).catch(() => undefined);
      if (!samples) continue;
      p99 = Math.max(p99, (samples.get('nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000);
      max = Math.max(max, (samples.get('nodejs_eventloop_lag_max_seconds') ?? 0) * 1000);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { p99, max, rssMiB: Math.max(rss, rssKiB(pid) / 1024) };
    },
  };
}

async function runtimeRound(
  runtime: Runtime,
  executorMetrics: string,
  executorPid: number,
  label: string,
  n: number,
): Promise<Round> {
  const urls = await Promise.all(
    Array.from(
      { length: n },
      async (_, i) =>
        `ws://127.0.0.1:${runtime.port}/ws/chat?token=${await mintToken({ claims: { workflow_id: 'bench_echo', chat_id: `${label}_${i}` } })}`,
    ),
  );
  const sockets = await openAll(urls);
  await executorSettled(executorMetrics, 120_000);
  const lag = watchLag(executorMetrics, executorPid);
  const result = await fireAll(
    sockets,
    JSON.stringify({ type: 'user_message', content: 'ping' }),
    (f) => f.type === 'agent_message',
    (f) => f.type === 'error',
  );
  const { p99, max, rssMiB } = await lag.stop();
  for (const socket of sockets) socket.terminate();
  const latency = percentiles(result.latencies);
  return {
    extra: { p50: latency.p50 - LLM_LATENCY_MS, p99: latency.p99 - LLM_LATENCY_MS },
    failures: result.failures,
    lagP99: p99,
    lagMax: max,
    rssMiB,
  };
}

async function floorRound(relayPort: number, n: number): Promise<Round> {
  const sockets = await openAll(Array.from({ length: n }, () => `ws://127.0.0.1:${relayPort}`));
  const result = await fireAll(
    sockets,
    'ping',
    (f) => f.type === 'reply',
    (f) => f.type === 'error',
  );
  for (const socket of sockets) socket.terminate();
  const latency = percentiles(result.latencies);
  return {
    extra: { p50: latency.p50 - LLM_LATENCY_MS, p99: latency.p99 - LLM_LATENCY_MS },
    failures: result.failures,
    lagP99: Number.NaN,
    lagMax: Number.NaN,
    rssMiB: Number.NaN,
  };
}

function report(label: string, n: number, rounds: Round[]): string {
  const s = (pick: (r: Round) => number, unit: string, digits = 0) =>
    showSpread(spread(rounds.map(pick)), unit, digits);
  const lag = Number.isNaN(rounds[0]!.lagP99)
    ? ''
    : `   event-loop lag p99 ${s((r) => r.lagP99, ' ms')}, max ${s((r) => r.lagMax, ' ms')}; RSS ${s((r) => r.rssMiB, ' MiB')}`;
  return `${label.padEnd(12)} N=${String(n).padEnd(5)} extra p50 ${s((r) => r.extra.p50, ' ms').padEnd(22)} p99 ${s((r) => r.extra.p99, ' ms').padEnd(22)} failures ${s((r) => r.failures, '')}${lag}`;
}

runBench('mozaiks-bench-inflight-', async ({ nats, data, children }) => {
  const lines: string[] = [];
  const llm = await startLlm(LLM_LATENCY_MS);
  children.push(llm.child);
  const env = runtimeEnv(llm.url, { NATS_URL: nats.url });
  const results = new Map<string, Map<number, Round[]>>();
  const record = (mode: string, n: number, round: Round) => {
    const byN = results.get(mode) ?? new Map<number, Round[]>();
    byN.set(n, [...(byN.get(n) ?? []), round]);
    results.set(mode, byN);
  };

  /** Every round of every N on `runtime`, whose `measured` process is watched; then stops it. */
  const measure = async (mode: string, runtime: Runtime, metricsUrl: string, measured: string) => {
    children.push(...runtime.children.values());
    const pid = runtime.children.get(measured)!.proc.pid!;
    for (const n of COUNTS)
      for (let r = 0; r < ROUNDS; r++)
        record(mode, n, await runtimeRound(runtime, metricsUrl, pid, `${mode[0]}${n}_${r}`, n));
    await Promise.all([...runtime.children.values()].map((c) => stop(c)));
  };

  if (MODES.includes('floor')) {
    // The floor: relay (WebSocket → NATS request) and caller (NATS → HTTP to the model).
    const caller = run(
      [
        '-e',
        `
      const { connect } = require('@nats-io/transport-node');
      connect({ servers: '${nats.url}' }).then((nc) => {
        nc.subscribe('bench.llm', { callback: (_e, m) => {
          fetch('${llm.url}/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: new TextDecoder().decode(m.data) }] }) })
            .then((r) => r.json()).then((j) => m.respond(JSON.stringify(j)), () => m.respond('{"error":true}'));
        } });
        nc.flush().then(() => console.log('READY'));
      });`,
      ],
      {},
      { raiseFileLimit: true },
    );
    children.push(caller);
    await waitFor(caller, /READY/);
    const relay = run(
      [
        '-e',
        `
      const { connect } = require('@nats-io/transport-node');
      const { WebSocketServer } = require('ws');
      connect({ servers: '${nats.url}' }).then((nc) => {
        const s = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => console.log('PORT ' + s.address().port));
        s.on('connection', (c) => c.on('message', (m) => nc.request('bench.llm', m, { timeout: 170000 }).then(
          (r) => c.send(JSON.stringify({ type: 'reply', body: r.string() })), () => c.send('{"type":"error"}'))));
      });`,
      ],
      {},
      { raiseFileLimit: true },
    );
    children.push(relay);
    const relayPort = Number((await waitFor(relay, /PORT (\d+)/))[1]);
    for (const n of COUNTS) for (let r = 0; r < ROUNDS; r++) record('floor', n, await floorRound(relayPort, n));
    await Promise.all([stop(caller), stop(relay)]);
  }

  if (MODES.includes('distributed')) {
    const runtime = await startDistributed(
      { ...env, DATA_DIR: path.join(data.path, 'distributed') },
      {
        raiseFileLimit: true,
        keepOutput: 64 * 1024,
        nodeFlags: (service) =>
          PROFILE_DIR
            ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=in-flight-${service}.cpuprofile`]
            : [],
      },
    );
    await measure('distributed', runtime, `http://127.0.0.1:${runtime.opsPorts.get('executor')}/metrics`, 'executor');
  }

  if (MODES.includes('standalone')) {
    const { NATS_URL: _nats, ...standaloneEnv } = env;
    const runtime = await startStandalone(
      { ...standaloneEnv, DATA_DIR: path.join(data.path, 'standalone') },
      {
        raiseFileLimit: true,
        keepOutput: 64 * 1024,
        nodeFlags: PROFILE_DIR
          ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, '--cpu-prof-name=in-flight-standalone.cpuprofile']
          : [],
      },
    );
    await measure('standalone', runtime, `http://127.0.0.1:${runtime.port}/metrics`, 'standalone');
  }

  lines.push(
    `in-flight chats: N chats send one message at once to one executor; the model answers after ${LLM_LATENCY_MS} ms; extra = reply time - ${LLM_LATENCY_MS} ms; min / median / max over ${ROUNDS} rounds`,
  );
  for (const [mode, byN] of results) for (const [n, rounds] of byN) lines.push(report(mode, n, rounds));
  const floor = results.get('floor');
  for (const mode of ['distributed', 'standalone']) {
    for (const [n, rounds] of results.get(mode) ?? []) {
      const base = floor?.get(n);
      if (!base) continue;
      const ratio = spread(rounds.map((r) => r.extra.p50)).median / spread(base.map((r) => r.extra.p50)).median;
      lines.push(
        `${mode} N=${n}: extra p50 = ${ratio.toFixed(2)} x the floor harness's (${ms(spread(rounds.map((r) => r.extra.p50)).median, 0)} vs ${ms(spread(base.map((r) => r.extra.p50)).median, 0)})`,
      );
    }
  }
  console.log(lines.join('\n'));
});
