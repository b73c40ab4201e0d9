// What the benchmarks share: processes started from the repo with their output kept, percentiles
// and min/median/max summaries, a process's CPU time and memory from /proc, Prometheus samples
// scraped from a service, the runtime's services started standalone or distributed, and the
// scaffolding of a benchmark's run (its NATS server, temp folder, processes and exit code).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, makeTempDir, startNatsServer } from '@mozaiks/testing';
import type { NatsServer, TempDir } from '@mozaiks/testing';

export const ROOT = path.resolve(__dirname, '..');
export const BENCH_WORKFLOWS = path.join(__dirname, 'workflows');

export interface Child {
  proc: ChildProcess;
  output: string;
}

export interface RunOptions {
  /** Let the process open as many files as the hard limit allows (its soft limit raised through the shell). */
  raiseFileLimit?: boolean;
  /** Keep at most this much of the output (a long run's logs). @default 1 MiB */
  keepOutput?: number;
}

/** Runs `node <args>` from the repo root with only PATH and `env` in its environment. */
export function run(args: string[], env: Record<string, string> = {}, options: RunOptions = {}): Child {
  const environment = { PATH: process.env.PATH ?? '', ...env };
  const proc = options.raiseFileLimit
    ? spawn('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"', process.execPath, ...args], {
        env: environment,
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: ROOT,
      })
    : spawn(process.execPath, args, { env: environment, stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  const child: Child = { proc, output: '' };
  const keep = options.keepOutput ?? 1024 * 1024;
  const append = (c: Buffer) => {
    child.output += c.toString();
    if (child.output.length > keep) child.output = child.output.slice(-keep);
  };
  proc.stdout.on('data', append);
  proc.stderr.on('data', append);
  return child;
}

/** Waits for `pattern` in the child's output; throws with the output when it exits or 30 s pass first. */
export async function waitFor(child: Child, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = child.output.match(pattern);
    if (match) return match;
    if (child.proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`process did not start:\n${child.output.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stops a child with SIGTERM and waits for it to exit (SIGKILL after `graceMs`). */
export async function stop(child: Child, graceMs = 10_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface Percentiles {
  p50: number;
  p99: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Min, median and max of one figure over several rounds. */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** `min / median / max` with `digits` decimals and a unit. */
export function showSpread(s: Spread, unit = '', digits = 1): string {
  const f = (v: number) => `${v.toFixed(digits)}${unit}`;
  return s.min === s.max ? f(s.median) : `${f(s.min)} / ${f(s.median)} / ${f(s.max)}`;
}

/** CPU time (user + system, all threads) a process has used, in ms; Linux only, else NaN. */
export function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of a process in KiB; Linux only, else NaN. */
export function rssKiB(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)![1]);
  } catch {
    return Number.NaN;
  }
}

/** Samples of a Prometheus exposition, by metric name with its labels (`name{a="b"}`). */
export async function scrape(url: string): Promise<Map<string, number>> {
  const samples = new Map<string, number>();
  const text = await (await fetch(url)).text();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** Starts the chat-completions endpoint in its own process, answering after `latencyMs`. */
export async function startLlm(latencyMs = 0): Promise<{ child: Child; url: string }> {
  const reply = `{ content: 'pong', usage: { prompt_tokens: 5, completion_tokens: 1 } }`;
  const handler =
    latencyMs > 0 ? `() => new Promise((r) => setTimeout(() => r(${reply}), ${latencyMs}))` : `() => (${reply})`;
  const child = run(
    ['-e', `require('@mozaiks/llm').startChatCompletionsServer(${handler}).then((s) => console.log('URL ' + s.url))`],
    {},
    { raiseFileLimit: true },
  );
  return { child, url: (await waitFor(child, /URL (\S+)/))[1]! };
}

/** The runtime's environment for the benchmarks: the bench workflows, a local LLM endpoint, info-level logs (the default). */
export function runtimeEnv(llmUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENAI_API_KEY: 'bench-key',
    OPENAI_API_BASE: llmUrl,
    JWT_SECRET: TEST_SECRET,
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: TEST_AUDIENCE,
    WORKFLOWS_DIR: BENCH_WORKFLOWS,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    LLM_MAX_RETRIES: '0',
    ...extra,
  };
}

export const SERVICES = ['gateway', 'executor', 'tool-runner', 'usage-emitter'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface Runtime {
  /** The gateway's (or standalone's) HTTP port: WebSocket and /metrics. */
  port: number;
  /** Each process, by service (standalone: one, named 'standalone'). */
  children: Map<string, Child>;
  /** Ops port (/metrics) of each distributed service besides the gateway. */
  opsPorts: Map<string, number>;
}

/** Starts the runtime in one process. */
export async function startStandalone(
  env: Record<string, string>,
  options: RunOptions & { nodeFlags?: string[] } = {},
): Promise<Runtime> {
  const child = run([...(options.nodeFlags ?? []), 'services/standalone/dist/main.js'], env, options);
  const port = Number((await waitFor(child, /"url":"http:\/\/127\.0\.0\.1:(\d+)"/))[1]);
  return { port, children: new Map([['standalone', child]]), opsPorts: new Map() };
}

/** Starts the four services, each in its own process, on `env` (which names NATS and the store). */
export async function startDistributed(
  env: Record<string, string>,
  options: RunOptions & { nodeFlags?: (service: ServiceName) => string[] } = {},
): Promise<Runtime> {
  const children = new Map<string, Child>();
  const opsPorts = new Map<string, number>();
  let port = 0;
  for (const service of SERVICES) {
    const child = run([...(options.nodeFlags?.(service) ?? []), `services/${service}/dist/main.js`], env, options);
    children.set(service, child);
    if (service === 'gateway') port = Number((await waitFor(child, /"url":"http:\/\/127\.0\.0\.1:(\d+)"/))[1]);
    else opsPorts.set(service, Number((await waitFor(child, /"ops_port":(\d+)/))[1]));
  }
  return { port, children, opsPorts };
}

export const ms = (v: number, digits = 2) => `${v.toFixed(digits)} ms`;

/** What a benchmark's body is given: a NATS server, a temp folder, and the processes it starts. */
export interface BenchScope {
  nats: NatsServer;
  data: TempDir;
  /** Processes to kill when the benchmark ends, however it ends. */
  children: Child[];
  /** Something else to release at the end (before NATS and the folder). */
  onCleanup(release: () => Promise<unknown> | unknown): void;
}

/**
 * Runs a benchmark: starts NATS and a temp folder (named from `tempPrefix`), runs `body`, then
 * kills what it started and removes what it made; exits 0, or prints the error and exits 1.
 */
export function runBench(tempPrefix: string, body: (scope: BenchScope) => Promise<void>): void {
  void (async () => {
    const nats = await startNatsServer();
    const data = makeTempDir(tempPrefix);
    const children: Child[] = [];
    const releases: Array<() => Promise<unknown> | unknown> = [];
    try {
      await body({ nats, data, children, onCleanup: (release) => void releases.push(release) });
    } finally {
      for (const child of children) child.proc.kill('SIGKILL');
      for (const release of releases) await release();
      await nats.dispose();
      data.remove();
    }
  })().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
