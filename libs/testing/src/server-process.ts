// A test server as a child process on a local port, which a suite can stop and start again with
// the same arguments (to play a restart). Its output is kept for the error when it fails to start.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accepting } from './local-servers.js';

export interface ServerProcess {
  /** Spawns it and waits until the port accepts connections. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after five seconds; resolves when it has exited. */
  stop(): Promise<void>;
}

export function serverProcess(
  name: string,
  binary: string,
  args: () => string[],
  port: () => number,
  startTimeoutMs: number,
): ServerProcess {
  let child: ChildProcess | undefined;
  return {
    start: async () => {
      let log = '';
      const running = spawn(binary, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
      child = running;
      running.stdout.on('data', (c: Buffer) => (log += c.toString()));
      running.stderr.on('data', (c: Buffer) => (log += c.toString()));
      const deadline = Date.now() + startTimeoutMs;
      while (!(await accepting(port()))) {
        if (running.exitCode !== null) throw new Error(`${name} exited (${running.exitCode}): ${log}`);
        if (Date.now() > deadline) throw new Error(`${name} did not start on port ${port()}: ${log}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop: async () => {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((r) => running.once('exit', r));
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
