// bench/cold-start: time from `node services/<x>/dist/main.js` to its first 200 on /ready (the
// moment a Kubernetes readiness probe would let traffic in), for each distributed service, for
// standalone, and for the floor: a bare node HTTP server answering 200. The port is chosen up
// front and polled every 5 ms from the spawn. Each is started ROUNDS times (min / median / max);
// NATS and the store are up before. Its resident memory one second after ready is printed too
// (a unit's idle memory, for sizing). Prints figures; never fails on timing.
//
//   npm run bench:cold-start              (ROUNDS=5)
import path from 'node:path';
import { freePort } from '@mozaiks/testing';
import { rssKiB, run, stop } from './harness/processes';
import type { Child } from './harness/processes';
import { runBench, runtimeEnv, startLlm } from './harness/runtime';
import { ms, showSpread, spread } from './harness/stats';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const TARGETS = ['floor', 'gateway', 'executor', 'tool-runner', 'usage-emitter', 'standalone'] as const;

/** Starts `args` with PORT set and resolves with the ms until /ready (or /) first answers 200. */
async function timeToReady(
  args: string[],
  env: Record<string, string>,
  readyPath: string,
): Promise<{ ms: number; child: Child }> {
  const port = await freePort();
  const started = performance.now();
  const child = run(args, { ...env, PORT: String(port) });
  const deadline = started + 30_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}${readyPath}`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return { ms: performance.now() - started, child };
    if (child.proc.exitCode !== null || performance.now() > deadline)
      throw new Error(`${args.join(' ')} did not become ready:\n${child.output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

runBench('mozaiks-bench-cold-', async ({ nats, data, children }) => {
  const llm = await startLlm();
  children.push(llm.child);
  const env = runtimeEnv(llm.url, { NATS_URL: nats.url, DATA_DIR: path.join(data.path, 'store') });
  const figures = new Map<string, number[]>();
  const memory = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of TARGETS) {
      const args =
        target === 'floor'
          ? [
              '-e',
              `require('node:http').createServer((_q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')`,
            ]
          : [`services/${target}/dist/main.js`];
      const { NATS_URL: _nats, ...standaloneEnv } = env;
      const started = await timeToReady(
        args,
        target === 'standalone' ? { ...standaloneEnv, DATA_DIR: path.join(data.path, `standalone_${round}`) } : env,
        target === 'floor' ? '/' : '/ready',
      );
      figures.set(target, [...(figures.get(target) ?? []), started.ms]);
      await new Promise((r) => setTimeout(r, 1000));
      memory.set(target, [...(memory.get(target) ?? []), rssKiB(started.child.proc.pid) / 1024]);
      await stop(started.child);
    }
  }
  const floor = spread(figures.get('floor')!).median;
  console.log(
    `cold start to the first 200 on /ready (floor: a bare node HTTP server answering 200); min / median / max over ${ROUNDS} starts`,
  );
  for (const [target, values] of figures) {
    const s = spread(values);
    const rss = showSpread(spread(memory.get(target)!), ' MiB', 0);
    console.log(
      `${target.padEnd(14)} ${showSpread(s, ' ms', 0).padEnd(24)} ${(target === 'floor' ? '' : `${(s.median / floor).toFixed(1)} x floor, ${ms(s.median - floor, 0)} above it`).padEnd(32)} idle RSS ${rss}`,
    );
  }
});
