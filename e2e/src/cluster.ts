// Starts the distributed runtime for a test: a private nats-server and each service as its own
// process on the built code, with a scripted LLM endpoint. On SQLite the processes share one data
// folder (one host); on MongoDB each process has its own, empty, folder and they share nothing
// but NATS and the database.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NatsBus } from '@mozaiks/bus';
import { runtimeStreams } from '@mozaiks/service';
import { makeTempDir, startNatsServer, startScriptedLlm } from '@mozaiks/testing';
import type { MongoTestServer, NatsServer, ScriptedLlm, TempDir, TestEvent } from '@mozaiks/testing';
import { REPO_ROOT, testRuntimeEnv } from './harness';

export type ServiceName = 'gateway' | 'executor' | 'tool-runner' | 'usage-emitter';

export class ServiceProcess {
  child!: ChildProcess;
  port = 0;
  output = '';
  private exited!: Promise<number | null>;

  constructor(
    readonly service: ServiceName,
    readonly env: Record<string, string>,
  ) {}

  /** Starts the process and waits until it serves. */
  async start(): Promise<this> {
    const main = path.join(REPO_ROOT, `services/${this.service}/dist/main.js`);
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm test does) first`);
    this.output = '';
    this.child = spawn(process.execPath, [main], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const match = this.output.match(/"url":"http:\/\/[^:]+:(\d+)"/) ?? this.output.match(/"ops_port":(\d+)/);
      if (match) {
        this.port = Number(match[1]);
        return this;
      }
      if (this.child.exitCode !== null)
        throw new Error(`${this.service} exited (${this.child.exitCode}):\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${this.service} did not start:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Sends `signal` and waits for the exit code. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.child) return null;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Where a cluster keeps chats: the processes' shared SQLite file, or a MongoDB database of its own. */
export type ClusterStore = { kind: 'sqlite' } | { kind: 'mongodb'; server: MongoTestServer };

export interface Cluster {
  nats: NatsServer;
  llm: ScriptedLlm;
  /** The shared data folder (SQLite), or the parent of each process's own folder (MongoDB). */
  dataDir: TempDir;
  /** The store's settings as the processes have them: DATA_DIR, or MONGODB_URI and MONGODB_DATABASE. */
  storeEnv: Record<string, string>;
  services: Record<ServiceName, ServiceProcess[]>;
  /** A NATS connection of the test's own, as a billing pipeline would have. */
  observer: NatsBus;
  wsUrl(gateway: number, token: string, lastSeq?: number): string;
  /** Starts one more process of a service, with `env` over the cluster's. */
  add(service: ServiceName, env?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export async function startCluster(
  options: {
    counts?: Partial<Record<ServiceName, number>>;
    workflowsDir?: string;
    env?: Record<string, string>;
    /** Settings of one service's processes only. */
    serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
    store?: ClusterStore;
  } = {},
): Promise<Cluster> {
  const nats = await startNatsServer();
  const llm = await startScriptedLlm();
  const dataDir = makeTempDir('mozaiks-cluster-');
  const store = options.store ?? { kind: 'sqlite' };
  const storeEnv: Record<string, string> =
    store.kind === 'mongodb'
      ? { MONGODB_URI: store.server.uri, MONGODB_DATABASE: store.server.database() }
      : { DATA_DIR: dataDir.path };
  let processes = 0;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...testRuntimeEnv({
      llmUrl: llm.url,
      dataDir: dataDir.path,
      ...(options.workflowsDir ? { workflowsDir: options.workflowsDir } : {}),
    }),
    NATS_URL: nats.url,
    RUN_ACK_WAIT_SECONDS: '2',
    CHAT_LEASE_SECONDS: '2',
    SHUTDOWN_GRACE_SECONDS: '5',
    LOG_LEVEL: 'info',
    ...storeEnv,
    ...options.env,
  };
  const counts = { gateway: 1, executor: 1, 'tool-runner': 1, 'usage-emitter': 1, ...options.counts };
  const services: Record<ServiceName, ServiceProcess[]> = {
    gateway: [],
    executor: [],
    'tool-runner': [],
    'usage-emitter': [],
  };
  const add = async (service: ServiceName, extra: Record<string, string> = {}) => {
    // On MongoDB every process gets a data folder of its own, which must stay empty.
    const own: Record<string, string> =
      store.kind === 'mongodb' ? { DATA_DIR: path.join(dataDir.path, `${service}-${processes++}`) } : {};
    const proc = new ServiceProcess(service, { ...env, ...own, ...extra });
    services[service].push(proc);
    return proc.start();
  };
  let observer: NatsBus;
  try {
    const started = await Promise.allSettled(
      (Object.keys(counts) as ServiceName[]).flatMap((s) =>
        Array.from({ length: counts[s] }, () => add(s, options.serviceEnv?.[s])),
      ),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    observer = await NatsBus.connect({
      servers: nats.url,
      name: 'test-observer',
      streams: runtimeStreams('mozaiks'),
    });
  } catch (error) {
    // A cluster that did not start leaves nothing running behind.
    await Promise.all(
      Object.values(services)
        .flat()
        .map((p) => p.kill('SIGKILL')),
    );
    await llm.close();
    await nats.dispose();
    dataDir.remove();
    throw error;
  }
  return {
    nats,
    llm,
    dataDir,
    storeEnv,
    services,
    observer,
    add,
    wsUrl: (gateway, token, lastSeq) =>
      `ws://127.0.0.1:${services.gateway[gateway]!.port}/ws/chat?token=${token}${lastSeq === undefined ? '' : `&last_seq=${lastSeq}`}`,
    stop: async () => {
      await Promise.all(
        Object.values(services)
          .flat()
          .map((p) => p.kill('SIGKILL')),
      );
      await observer.drain().catch(() => undefined);
      await llm.close();
      await nats.dispose();
      dataDir.remove();
    },
  };
}

/** Waits until `check` holds, failing after `timeoutMs` with what was awaited. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Asserts a socket saw its chat's persisted events 1..n exactly once each, in order. */
export function expectGapless(events: TestEvent[]): void {
  const seqs = events.flatMap((e) => (e.seq === undefined ? [] : [e.seq as number]));
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
}
