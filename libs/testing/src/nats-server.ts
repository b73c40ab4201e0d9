// A private nats-server (JetStream on, its own port and store folder) for a test suite, which the
// suite may stop and start again on the same port to play a NATS restart.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { accepting, freePort, testServerCacheDir } from './local-servers.js';

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
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    log = '';
    child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await accepting(port))) {
      if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${log}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not start on port ${port}: ${log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

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
