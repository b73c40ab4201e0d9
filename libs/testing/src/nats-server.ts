// A private nats-server (JetStream on, its own port and store folder) for a test suite, which the
// suite may stop and start again on the same port to play a NATS restart.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, testServerCacheDir } from './local-servers.js';
import { serverProcess } from './server-process.js';

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL); its JetStream data stays for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

/** The nats-server binary: NATS_SERVER_BIN, then PATH, then Debian's location, then the project's cache. */
export function natsServerBinary(): string {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/sbin', '/usr/local/bin', testServerCacheDir())) {
    const candidate = path.join(dir, 'nats-server');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(
    'nats-server not found: `npm test` installs it (scripts/ensure-test-servers.sh), or set NATS_SERVER_BIN',
  );
}

export async function startNatsServer(): Promise<NatsServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mozaiks-nats-'));
  const binary = natsServerBinary();
  const { start, stop } = serverProcess(
    'nats-server',
    binary,
    () => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dataDir],
    () => port,
    10_000,
  );

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    start,
    stop,
    dispose: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
