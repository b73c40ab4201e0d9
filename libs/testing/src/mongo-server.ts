// A MongoDB-wire server for a test suite: MONGODB_URI when the environment names one, else a
// private FerretDB (SQLite backend) on a free port, as nats-server is started, else mongo:7 in a
// container through testcontainers when a Docker engine answers. Each suite gets its own database
// name, so suites never see each other's data.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { accepting, freePort, testServerCacheDir } from './local-servers.js';
import { serverProcess } from './server-process.js';

export interface MongoTestServer {
  /** Connection string without a database. */
  readonly uri: string;
  /** What serves it: `MONGODB_URI`, `ferretdb`, or a `mongo:7` container. */
  readonly kind: 'external' | 'ferretdb' | 'container';
  /** FerretDB's Prometheus metrics (requests by command), when this harness started it. */
  readonly metricsUrl?: string;
  /** A database name no other suite uses. */
  database(): string;
  /** Stops a server this harness started (SIGTERM, then SIGKILL); its data stays for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

/** The ferretdb binary: FERRETDB_BIN, then PATH, then the project's cache; undefined when none. */
export function ferretDbBinary(): string | undefined {
  if (process.env.FERRETDB_BIN) return process.env.FERRETDB_BIN;
  for (const dir of (process.env.PATH ?? '').split(':').concat(testServerCacheDir())) {
    const candidate = path.join(dir, 'ferretdb');
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Whether a Docker engine may answer here: DOCKER_HOST, or its socket where engines put it. */
function dockerEngine(): boolean {
  if (process.env.DOCKER_HOST) return true;
  return ['/var/run/docker.sock', path.join(homedir(), '.docker', 'run', 'docker.sock')].some((socket) =>
    existsSync(socket),
  );
}

let warned = false;

/** Whether a MongoDB-wire server can be had; says once, plainly, when not (its tests are skipped). */
export function mongoTestServerAvailable(): boolean {
  if (process.env.MONGODB_TEST_URI ?? process.env.MONGODB_URI ?? ferretDbBinary()) return true;
  if (dockerEngine()) return true;
  if (!warned) {
    warned = true;
    process.stderr.write(
      'MongoDB tests SKIPPED: no MONGODB_URI, no ferretdb binary and no Docker engine (`npm test` builds FerretDB into the cache when Go is installed; or set FERRETDB_BIN)\n',
    );
  }
  return false;
}

/** What `startMongoTestServer` will start, known before it does (for choosing tests at load time). */
export function mongoTestServerKind(): MongoTestServer['kind'] | undefined {
  if (process.env.MONGODB_TEST_URI ?? process.env.MONGODB_URI) return 'external';
  if (process.env.MONGODB_TEST_SERVER === 'container' && dockerEngine()) return 'container';
  if (ferretDbBinary()) return 'ferretdb';
  return dockerEngine() ? 'container' : undefined;
}

/**
 * The suite's MongoDB-wire server, or undefined (said once, plainly) when there is none: no
 * MONGODB_URI and no ferretdb binary (`npm test` builds one into the cache when Go is present).
 */
export async function startMongoTestServer(): Promise<MongoTestServer | undefined> {
  const external = process.env.MONGODB_TEST_URI ?? process.env.MONGODB_URI;
  if (external) {
    return {
      uri: external,
      kind: 'external',
      database: uniqueDatabase,
      stop: async () => {},
      start: async () => {},
      dispose: async () => {},
    };
  }
  // MONGODB_TEST_SERVER=container prefers mongo:7 to FerretDB where both can be had.
  const binary = process.env.MONGODB_TEST_SERVER === 'container' && dockerEngine() ? undefined : ferretDbBinary();
  if (binary) return startFerretDb(binary);
  if (dockerEngine()) return startMongoContainer();
  mongoTestServerAvailable();
  return undefined;
}

/** mongo:7 in a container on a fixed free port, so that stopping and starting it keeps its address. */
async function startMongoContainer(): Promise<MongoTestServer> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const port = await freePort();
  const started = await new GenericContainer('mongo:7')
    .withExposedPorts({ container: 27017, host: port })
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/i))
    .start();
  const runtime = await getContainerRuntimeClient();
  const container = runtime.container.getById(started.getId());
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    kind: 'container',
    database: uniqueDatabase,
    stop: () => runtime.container.stop(container, { timeout: 5 }),
    start: async () => {
      await runtime.container.start(container);
      const deadline = Date.now() + 30_000;
      while (!(await accepting(port))) {
        if (Date.now() > deadline) throw new Error(`mongo:7 did not come back on port ${port}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    dispose: async () => void (await started.stop()),
  };
}

function uniqueDatabase(): string {
  return `test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

async function startFerretDb(binary: string): Promise<MongoTestServer> {
  let [port, debugPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mozaiks-ferretdb-'));
  const { start, stop } = serverProcess(
    'ferretdb',
    binary,
    () => [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--state-dir=${dataDir}`,
      `--listen-addr=127.0.0.1:${port}`,
      `--debug-addr=127.0.0.1:${debugPort}`,
      '--telemetry=disable',
      '--log-level=ERROR',
    ],
    () => port,
    15_000,
  );
  // A free port can be taken by another suite between picking it and binding it: pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (error) {
      if (attempt >= 5 || !/address already in use/.test(String(error))) throw error;
      [port, debugPort] = [await freePort(), await freePort()];
    }
  }
  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    kind: 'ferretdb',
    metricsUrl: `http://127.0.0.1:${debugPort}/debug/metrics`,
    database: uniqueDatabase,
    start,
    stop,
    dispose: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
