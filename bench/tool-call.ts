// bench/tool-call: what running a tool in the tool-runner's sandbox costs, warm and cold, in
// JavaScript and Python, next to a direct in-process call of the same function and, for calls
// over NATS, next to a bare NATS request/reply measured in the same run. Prints figures; never
// fails on timing.
//
//   npm run bench:tool-call               (CALLS=2000 COLD=50 to change the sample sizes,
//                                          TOOL_WORKER_MAX_CALLS=100000 to see calls without worker replacement)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { connect } from '@nats-io/transport-node';
import { MemoryBus } from '@mozaiks/bus';
import { subjects } from '@mozaiks/protocol';
import type { ToolReply, ToolRequest } from '@mozaiks/protocol';
import { createLogger } from '@mozaiks/telemetry';
import { startNatsServer } from '@mozaiks/testing';
import { ToolRunner } from '@mozaiks/tool-runner';
import { run, waitFor } from './harness/processes';
import type { Child } from './harness/processes';
import { BENCH_WORKFLOWS as WORKFLOWS } from './harness/runtime';
import { percentiles } from './harness/stats';
import type { Percentiles as Figures } from './harness/stats';

const CALLS = Number(process.env.CALLS ?? 1000);
const COLD = Number(process.env.COLD ?? 30);
const WARMUP = 50;
/** Calls a worker serves before it is replaced (the runtime's TOOL_WORKER_MAX_CALLS). */
const MAX_CALLS = Number(process.env.TOOL_WORKER_MAX_CALLS ?? 100);

async function measure(n: number, once: (i: number) => Promise<unknown>, warmup = WARMUP): Promise<Figures> {
  for (let i = 0; i < warmup; i++) await once(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once(i);
    samples.push(performance.now() - t);
  }
  return percentiles(samples);
}

function request(file: string, appId: string, i: number): ToolRequest {
  return {
    v: 1,
    app_id: appId,
    user_id: 'bench',
    chat_id: 'bench',
    workflow_id: 'bench_tools',
    file,
    function: 'add',
    args: { a: i, b: 1 },
    context: {},
    timeout_ms: 10_000,
  };
}

function expectOk(reply: ToolReply): void {
  if (!reply.ok) throw new Error(`tool call failed: ${reply.error.code}: ${reply.error.message}`);
}

/** The Python function called in its own interpreter, timed there: the direct call's cost. */
function directPython(): Figures {
  const script = [
    'import sys, time, json',
    `sys.path.insert(0, ${JSON.stringify(path.join(WORKFLOWS, 'bench_tools'))})`,
    'from add import add',
    'samples = []',
    `for i in range(${CALLS + WARMUP}):`,
    '    t = time.perf_counter(); add(a=i, b=1); samples.append((time.perf_counter() - t) * 1000)',
    `print(json.dumps(samples[${WARMUP}:]))`,
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return percentiles(JSON.parse(run.stdout) as number[]);
}

async function main(): Promise<void> {
  const silent = createLogger({
    service: 'bench',
    level: 'silent',
    destination: new Writable({ write: (_c, _e, d) => d() }),
  });
  const rows: Array<[string, Figures]> = [];

  // Direct: the same functions, called in-process.
  const { add } = (await import(pathToFileURL(path.join(WORKFLOWS, 'bench_tools', 'add.mjs')).href)) as {
    add: (args: { a: number; b: number }) => unknown;
  };
  const directJs = await measure(CALLS, async (i) => add({ a: i, b: 1 }));
  const directPy = directPython();

  // The runner, called in-process: the sandbox's cost alone.
  const runner = new ToolRunner({
    bus: new MemoryBus(),
    subjects: subjects(),
    workflowsDir: WORKFLOWS,
    logger: silent,
    limits: { workerMaxCalls: MAX_CALLS },
  });
  const warmJs = await measure(CALLS, async (i) => expectOk(await runner.handle(request('add.mjs', 'app_bench', i))));
  const warmPy = await measure(CALLS, async (i) => expectOk(await runner.handle(request('add.py', 'app_bench', i))));
  // Cold: a new app each call, so each call starts its worker (tenants never share one).
  const coldJs = await measure(
    COLD,
    async (i) => expectOk(await runner.handle(request('add.mjs', `app_cold_js_${i}`, i))),
    3,
  );
  const coldPy = await measure(
    COLD,
    async (i) => expectOk(await runner.handle(request('add.py', `app_cold_py_${i}`, i))),
    3,
  );
  await runner.stop();

  // Over NATS: the tool-runner service in its own process, next to a bare request/reply.
  const nats = await startNatsServer();
  const children: Child[] = [];
  try {
    const responder = run([
      '-e',
      `require('@nats-io/transport-node').connect({ servers: '${nats.url}' }).then((nc) => { nc.subscribe('bench.echo', { callback: (_e, m) => m.respond(m.data) }); nc.flush().then(() => console.log('READY')); })`,
    ]);
    children.push(responder);
    await waitFor(responder, /READY/);
    const service = run(['services/tool-runner/dist/main.js'], {
      NATS_URL: nats.url,
      WORKFLOWS_DIR: WORKFLOWS,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      TOOL_WORKER_MAX_CALLS: String(MAX_CALLS),
    });
    children.push(service);
    await waitFor(service, /"ops_port":\d+/);
    const nc = await connect({ servers: nats.url });
    const natsEcho = await measure(CALLS, async () => nc.request('bench.echo', '{"v":1}', { timeout: 5000 }));
    const overNats = (file: string) =>
      measure(CALLS, async (i) =>
        expectOk(
          (
            await nc.request('mozaiks.tool.app_bench.bench_tools', JSON.stringify(request(file, 'app_bench', i)), {
              timeout: 10_000,
            })
          ).json<ToolReply>(),
        ),
      );
    const natsJs = await overNats('add.mjs');
    const natsPy = await overNats('add.py');
    await nc.close();

    rows.push(
      ['direct call, JavaScript (in-process)', directJs],
      ['direct call, Python (in python3)', directPy],
      ['warm tool call, JavaScript', warmJs],
      ['warm tool call, Python', warmPy],
      ['cold tool call, JavaScript (new worker)', coldJs],
      ['cold tool call, Python (new worker)', coldPy],
      ['floor: NATS request/reply', natsEcho],
      ['warm tool call over NATS, JavaScript', natsJs],
      ['warm tool call over NATS, Python', natsPy],
    );
    const ms = (v: number) => `${v.toFixed(3)} ms`;
    console.log(
      `tool-call latency: ${CALLS} sequential calls per warm row (after ${WARMUP} warm-up), ${COLD} per cold row; tool = add({a, b}); a worker is replaced every ${MAX_CALLS} calls`,
    );
    for (const [name, r] of rows)
      console.log(`${name.padEnd(42)} p50 ${ms(r.p50).padStart(11)}   p99 ${ms(r.p99).padStart(11)}`);
    console.log(
      `warm overhead over the direct call (p50): JavaScript ${ms(warmJs.p50 - directJs.p50)}, Python ${ms(warmPy.p50 - directPy.p50)} (goal: under 2 ms)`,
    );
    console.log(
      `over NATS, above the bare request/reply (p50): JavaScript ${ms(natsJs.p50 - natsEcho.p50)}, Python ${ms(natsPy.p50 - natsEcho.p50)}`,
    );
  } finally {
    for (const child of children) child.proc.kill('SIGTERM');
    await nats.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
