// Child processes for the benchmarks: node started from the repo root with its output kept, waited
// for by a line of output and stopped; a process's CPU time and memory from /proc; the samples of a
// Prometheus exposition.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

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
