// The runtime as the benchmarks start it: the local chat-completions endpoint, the environment, the
// services standalone or distributed; and a benchmark's scaffolding (its NATS server, temp folder,
// processes and exit code).
import path from 'node:path';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, makeTempDir, startNatsServer } from '@mozaiks/testing';
import type { NatsServer, TempDir } from '@mozaiks/testing';
import { run, scrape, waitFor } from './processes';
import type { Child, RunOptions } from './processes';

export const BENCH_WORKFLOWS = path.join(__dirname, '../workflows');

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

/**
 * Waits until the executor whose /metrics is `metricsUrl` serves no chat and has no run request
 * waiting for it; throws after `timeoutMs`.
 */
export async function executorSettled(metricsUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const samples = await scrape(metricsUrl);
    if ((samples.get('runs_in_flight') ?? 0) === 0 && (samples.get('run_queue_pending') ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the executor did not settle within ${timeoutMs / 1000} s`);
}
