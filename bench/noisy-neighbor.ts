// bench/noisy-neighbor: one tenant's burst against another tenant's latency. App A opens N chats
// (one user each, sockets open first, not timed) and sends one message on each at the same moment;
// 50 ms later app B sends 5 messages one after another on its one chat, each once the run before
// has ended. The model answers after LATENCY_MS; B's extra latency (reply time minus that) is
// measured alone first, then during A's burst, with A's own extra p50. Standalone and distributed
// (one gateway, one executor). Prints figures and the goal (B during A's burst at most 2 x B alone
// + 100 ms); never fails on timing.
//
// With MAX_RUNS_PER_APP it also prints the most runs of A going at once, counted from the
// executor's log (each run from "workflow execution started" to "finished").
//
//   npm run bench:noisy-neighbor          (N=1000 LATENCY_MS=500 MODES=standalone,distributed;
//                                          MAX_RUNS_PER_APP=n sets EXECUTOR_MAX_RUNS_PER_APP)
import path from 'node:path';
import { WebSocket } from 'ws';
import { mintToken } from '@mozaiks/testing';
import { stop } from './harness/processes';
import { executorSettled, runBench, runtimeEnv, startDistributed, startLlm, startStandalone } from './harness/runtime';
import type { Runtime } from './harness/runtime';
import { fireAll, openAll } from './harness/sockets';
import { ms, percentiles } from './harness/stats';

const N = Number(process.env.N ?? 1000);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 500);
const MODES = (process.env.MODES ?? 'standalone,distributed').split(',');
const MAX_RUNS_PER_APP = process.env.MAX_RUNS_PER_APP;
/** B's messages, one after another. */
const B_MESSAGES = 5;
/** How long after A's burst B starts. */
const B_AFTER_MS = 50;
/** Log kept of each runtime process: enough for every run's two lines when the runs of A are counted. */
const LOG_KEPT = (MAX_RUNS_PER_APP ? 64 : 1) * 1024 * 1024;

const url = async (runtime: Runtime, app: string, user: string, chat: string) =>
  `ws://127.0.0.1:${runtime.port}/ws/chat?token=${await mintToken({
    claims: { app_id: app, user_id: user, workflow_id: 'bench_echo', chat_id: chat },
  })}`;

/** B's 5 messages on one socket, each after the run before ended: the extra latency of each reply (ms). */
async function tenantB(socket: WebSocket): Promise<number[]> {
  const extras: number[] = [];
  for (let i = 0; i < B_MESSAGES; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('B got no reply within 3 minutes')), 180_000);
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type?: string };
        if (frame.type === 'agent_message') extras.push(performance.now() - started - LATENCY_MS);
        if (frame.type === 'error') reject(new Error(`B got an error: ${data.toString()}`));
        if (frame.type === 'usage_update') {
          clearTimeout(timer);
          socket.removeAllListeners('message');
          resolve();
        }
      });
      socket.send(JSON.stringify({ type: 'user_message', content: `b ${i}` }));
    });
  }
  return extras;
}

interface Result {
  bAlone: number[];
  bDuring: number[];
  aExtraP50: number;
  aFailures: number;
  /** The most runs of A going at once, from the executor's log. */
  aMostAtOnce?: number;
}

/** The most runs of `appId` going at once in a log of JSON lines (started … finished, by run id). */
function mostRunsAtOnce(log: string, appId: string): number {
  const changes: Array<[at: number, by: number]> = [];
  for (const line of log.split('\n')) {
    if (!line.includes(appId) || !line.includes('workflow execution')) continue;
    const entry = JSON.parse(line) as { app_id?: string; timestamp: string; message: string };
    if (entry.app_id !== appId) continue;
    if (entry.message === 'workflow execution started') changes.push([Date.parse(entry.timestamp), 1]);
    if (entry.message === 'workflow execution finished') changes.push([Date.parse(entry.timestamp), -1]);
  }
  // Ends before starts at the same millisecond: a slot freed and taken again is not two at once.
  changes.sort(([a, x], [b, y]) => a - b || x - y);
  let now = 0;
  let most = 0;
  for (const [, by] of changes) most = Math.max(most, (now += by));
  return most;
}

async function measure(
  runtime: Runtime,
  metricsUrl: string,
  label: string,
  executorLog: () => string,
): Promise<Result> {
  // Warmed up first (code paths compiled, store pages cached), so B alone is B's steady state.
  const [warm] = await openAll([await url(runtime, 'app_w', 'user_w', `${label}_warm`)]);
  await tenantB(warm!);
  warm!.terminate();
  const [b] = await openAll([await url(runtime, 'app_b', 'user_b', `${label}_b`)]);
  const bAlone = await tenantB(b!);
  const aUrls = await Promise.all(
    Array.from({ length: N }, (_, i) => url(runtime, 'app_a', `user_a${i}`, `${label}_a${i}`)),
  );
  const a = await openAll(aUrls);
  await executorSettled(metricsUrl, 120_000);
  const burst = fireAll(
    a,
    JSON.stringify({ type: 'user_message', content: 'ping' }),
    (f) => f.type === 'agent_message',
    (f) => f.type === 'error',
  );
  await new Promise((r) => setTimeout(r, B_AFTER_MS));
  const bDuring = await tenantB(b!);
  const aResult = await burst;
  for (const socket of [...a, b!]) socket.terminate();
  return {
    bAlone,
    bDuring,
    aExtraP50: percentiles(aResult.latencies).p50 - LATENCY_MS,
    aFailures: aResult.failures,
    ...(MAX_RUNS_PER_APP ? { aMostAtOnce: mostRunsAtOnce(executorLog(), 'app_a') } : {}),
  };
}

function report(mode: string, r: Result): string[] {
  const worst = (xs: number[]) => Math.max(...xs);
  const goal = 2 * worst(r.bAlone) + 100;
  return [
    `${mode.padEnd(12)} B alone: worst ${ms(worst(r.bAlone), 0)} (${r.bAlone.map((x) => x.toFixed(0)).join(', ')} ms)`,
    `${' '.repeat(12)} B during A's burst of ${N}: worst ${ms(worst(r.bDuring), 0)} (${r.bDuring.map((x) => x.toFixed(0)).join(', ')} ms); goal at most ${ms(goal, 0)}: ${worst(r.bDuring) <= goal ? 'met' : 'NOT met'}`,
    `${' '.repeat(12)} A's burst: extra p50 ${ms(r.aExtraP50, 0)}, failures ${r.aFailures}`,
    ...(r.aMostAtOnce === undefined
      ? []
      : [
          `${' '.repeat(12)} A's runs going at once: at most ${r.aMostAtOnce} (EXECUTOR_MAX_RUNS_PER_APP=${MAX_RUNS_PER_APP})`,
        ]),
  ];
}

runBench('mozaiks-bench-neighbor-', async ({ nats, data, children }) => {
  const llm = await startLlm(LATENCY_MS);
  children.push(llm.child);
  const env = runtimeEnv(llm.url, {
    NATS_URL: nats.url,
    ...(MAX_RUNS_PER_APP ? { EXECUTOR_MAX_RUNS_PER_APP: MAX_RUNS_PER_APP } : {}),
  });
  const lines = [
    `noisy neighbor: app A sends one message on each of ${N} chats at once; ${B_AFTER_MS} ms later app B sends ${B_MESSAGES} messages one after another; the model answers after ${LATENCY_MS} ms; extra = reply time - ${LATENCY_MS} ms${MAX_RUNS_PER_APP ? `; EXECUTOR_MAX_RUNS_PER_APP=${MAX_RUNS_PER_APP}` : ''}`,
  ];
  if (MODES.includes('standalone')) {
    const { NATS_URL: _nats, ...standaloneEnv } = env;
    const runtime = await startStandalone(
      { ...standaloneEnv, DATA_DIR: path.join(data.path, 'standalone') },
      { raiseFileLimit: true, keepOutput: LOG_KEPT },
    );
    children.push(...runtime.children.values());
    const log = () => runtime.children.get('standalone')!.output;
    lines.push(...report('standalone', await measure(runtime, `http://127.0.0.1:${runtime.port}/metrics`, 's', log)));
    await Promise.all([...runtime.children.values()].map((c) => stop(c)));
  }
  if (MODES.includes('distributed')) {
    const runtime = await startDistributed(
      { ...env, DATA_DIR: path.join(data.path, 'distributed') },
      { raiseFileLimit: true, keepOutput: LOG_KEPT },
    );
    children.push(...runtime.children.values());
    const metricsUrl = `http://127.0.0.1:${runtime.opsPorts.get('executor')}/metrics`;
    const log = () => runtime.children.get('executor')!.output;
    lines.push(...report('distributed', await measure(runtime, metricsUrl, 'd', log)));
    await Promise.all([...runtime.children.values()].map((c) => stop(c)));
  }
  console.log(lines.join('\n'));
});
