// bench/idle-sockets: how many idle chat sockets one gateway holds, and what each costs in memory,
// up to the file-descriptor limit. Client processes open SOCKETS sockets (each its own chat, so
// each is subscribed to its chat's events and its chat is opened in the store), in batches; the
// gateway's resident memory is read before and after, and its CPU over IDLE_SECONDS of idleness.
// The floor is a bare `ws` server holding as many sockets in the same run. Standalone and
// distributed (SQLite store) are each measured ROUNDS times (min / median / max). Prints figures;
// never fails on timing.
//
//   npm run bench:idle-sockets            (SOCKETS=<hard fd limit - 300> ROUNDS=1 IDLE_SECONDS=10; MODES=floor,distributed,standalone)
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { cpuMs, rssKiB, run, stop, waitFor } from './harness/processes';
import type { Child } from './harness/processes';
import { executorSettled, runBench, runtimeEnv, startDistributed, startLlm, startStandalone } from './harness/runtime';
import type { Runtime } from './harness/runtime';
import { showSpread, spread } from './harness/stats';

const HARD_LIMIT = Number(execFileSync('/bin/sh', ['-c', 'ulimit -Hn']).toString().trim());
/** Every process here holds one end of each socket: stay under the limit with room for the rest. */
const SOCKETS = Number(process.env.SOCKETS ?? HARD_LIMIT - 300);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 10);
const MODES = (process.env.MODES ?? 'floor,distributed,standalone').split(',');
/** Sockets per client process (each has the same file limit). */
const PER_CLIENT = 5000;

interface Round {
  opened: number;
  failed: number;
  kibPerSocket: number;
  openSeconds: number;
  /** CPU the server used per second while the sockets sat idle, in ms. */
  idleCpuMsPerSecond: number;
  rssMiB: number;
}

/**
 * A client process opening `count` sockets (tokens minted there when `chatPrefix` is given: the
 * runtime's chat URL), 200 at a time, each given 30 s for its handshake. Prints "DONE <opened> <failed>".
 */
function startClients(url: string, count: number, chatPrefix: string | undefined): Child {
  return run(
    [
      '-e',
      `
    const { WebSocket } = require('ws');
    const { mintToken } = require('@mozaiks/testing');
    const open = async (i) => {
      const target = ${chatPrefix ? `'${url}?token=' + await mintToken({ claims: { workflow_id: 'bench_echo', chat_id: '${chatPrefix}_' + i } })` : `'${url}'`};
      return new Promise((resolve) => {
        const s = new WebSocket(target, { handshakeTimeout: 30000 });
        s.once('open', () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
    };
    (async () => {
      const sockets = [];
      let failed = 0;
      for (let i = 0; i < ${count}; i += 200) {
        const batch = await Promise.all(Array.from({ length: Math.min(200, ${count} - i) }, (_, k) => open(i + k)));
        for (const s of batch) s ? sockets.push(s) : failed++;
      }
      console.log('DONE ' + sockets.length + ' ' + failed);
      setInterval(() => undefined, 1 << 30);
    })();`,
    ],
    {},
    { raiseFileLimit: true },
  );
}

async function holdSockets(
  url: string,
  serverPid: number,
  total: number,
  chatPrefix: string | undefined,
  executorMetrics?: string,
): Promise<Round> {
  // Let start-up settle, then read the server's memory with no socket open.
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssKiB(serverPid);
  const started = performance.now();
  const clients: Child[] = [];
  for (let offset = 0; offset < total; offset += PER_CLIENT)
    clients.push(startClients(url, Math.min(PER_CLIENT, total - offset), chatPrefix && `${chatPrefix}_${offset}`));
  let opened = 0;
  let failed = 0;
  for (const client of clients) {
    const [, ok, bad] = await waitFor(client, /DONE (\d+) (\d+)/, 600_000);
    opened += Number(ok);
    failed += Number(bad);
  }
  const openSeconds = (performance.now() - started) / 1000;
  // The chats' openings are handled meanwhile; memory and idle CPU are read once they are done.
  if (executorMetrics) await executorSettled(executorMetrics, 300_000);
  await new Promise((r) => setTimeout(r, 2000));
  const cpuBefore = cpuMs(serverPid);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const idleCpuMsPerSecond = (cpuMs(serverPid) - cpuBefore) / IDLE_SECONDS;
  const after = rssKiB(serverPid);
  await Promise.all(clients.map((c) => stop(c, 2000)));
  return {
    opened,
    failed,
    kibPerSocket: (after - before) / Math.max(1, opened),
    openSeconds,
    idleCpuMsPerSecond,
    rssMiB: after / 1024,
  };
}

function report(label: string, rounds: Round[]): string {
  const s = (pick: (r: Round) => number, unit: string, digits = 1) =>
    showSpread(spread(rounds.map(pick)), unit, digits);
  return `${label.padEnd(34)} opened ${s((r) => r.opened, '', 0)} of ${SOCKETS} (failed ${s((r) => r.failed, '', 0)}) in ${s((r) => r.openSeconds, ' s')}; ${s((r) => r.kibPerSocket, ' KiB')} per socket, RSS ${s((r) => r.rssMiB, ' MiB', 0)}; idle CPU ${s((r) => r.idleCpuMsPerSecond, ' ms/s')}`;
}

runBench('mozaiks-bench-sockets-', async ({ nats, data, children }) => {
  const lines = [
    `idle sockets: ${SOCKETS} sockets opened in batches of 200 by ${Math.ceil(SOCKETS / PER_CLIENT)} client processes (file-descriptor hard limit ${HARD_LIMIT}); memory is the server's RSS growth over the sockets it holds; min / median / max over ${ROUNDS} rounds`,
  ];
  const llm = await startLlm();
  children.push(llm.child);
  const env = runtimeEnv(llm.url, { NATS_URL: nats.url });
  /** One round of sockets on `runtime`, measuring its `measured` process; then stops it. */
  const holdOn = async (runtime: Runtime, measured: string, chatPrefix: string, executorMetrics: string) => {
    children.push(...runtime.children.values());
    const pid = runtime.children.get(measured)!.proc.pid!;
    const round = await holdSockets(
      `ws://127.0.0.1:${runtime.port}/ws/chat`,
      pid,
      SOCKETS,
      chatPrefix,
      executorMetrics,
    );
    await Promise.all([...runtime.children.values()].map((c) => stop(c)));
    return round;
  };

  for (const mode of MODES) {
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      if (mode === 'floor') {
        const server = run(
          [
            '-e',
            `const { WebSocketServer } = require('ws'); const s = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => console.log('PORT ' + s.address().port));`,
          ],
          {},
          { raiseFileLimit: true },
        );
        children.push(server);
        const port = Number((await waitFor(server, /PORT (\d+)/))[1]);
        rounds.push(await holdSockets(`ws://127.0.0.1:${port}`, server.proc.pid!, SOCKETS, undefined));
        await stop(server);
      } else if (mode === 'distributed') {
        const runtime = await startDistributed(
          { ...env, DATA_DIR: path.join(data.path, `distributed_${r}`) },
          { raiseFileLimit: true, keepOutput: 64 * 1024 },
        );
        const executorMetrics = `http://127.0.0.1:${runtime.opsPorts.get('executor')}/metrics`;
        rounds.push(await holdOn(runtime, 'gateway', `d${r}`, executorMetrics));
      } else if (mode === 'standalone') {
        const { NATS_URL: _nats, ...standaloneEnv } = env;
        const runtime = await startStandalone(
          { ...standaloneEnv, DATA_DIR: path.join(data.path, `standalone_${r}`) },
          { raiseFileLimit: true, keepOutput: 64 * 1024 },
        );
        rounds.push(await holdOn(runtime, 'standalone', `s${r}`, `http://127.0.0.1:${runtime.port}/metrics`));
      }
    }
    lines.push(
      report(
        mode === 'floor'
          ? 'floor (bare ws server)'
          : mode === 'distributed'
            ? 'distributed gateway'
            : 'standalone (all services)',
        rounds,
      ),
    );
  }
  console.log(lines.join('\n'));
});
