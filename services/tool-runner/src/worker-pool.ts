// Warm tool workers, kept per key (app, workflow, language, variables) so a call finds its tool already
// loaded. A worker is retired after a failed call, after `maxCalls` calls, or when idle too long;
// a retired worker is replaced in the background, so the next call of its key is warm again.
import type { ToolOutcome, ToolWorker, WorkerCall } from './tool-worker.js';
import { errorMessage } from '@mozaiks/common';

export interface WorkerPoolOptions {
  /** Starts a worker for `key`; throws when the worker cannot be described (missing interpreter). */
  create: (key: string) => ToolWorker;
  /** Calls one worker serves before it is replaced. */
  maxCalls: number;
  /** Idle milliseconds after which a worker is stopped. */
  idleMs: number;
  /** Idle workers kept over all keys; the least recently used go first. */
  maxIdle: number;
}

export class WorkerPool {
  private readonly idle = new Map<string, ToolWorker[]>();
  private readonly busy = new Set<ToolWorker>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(this.options.idleMs, 10_000));
    this.sweeper.unref();
  }

  /** Workers alive now, idle and busy. */
  get size(): { idle: number; busy: number } {
    let idle = 0;
    for (const list of this.idle.values()) idle += list.length;
    return { idle, busy: this.busy.size };
  }

  /** Runs `call` on a warm worker of `key`, starting one if none is idle. */
  async run(key: string, call: WorkerCall): Promise<ToolOutcome> {
    let worker: ToolWorker;
    try {
      worker = this.take(key) ?? this.options.create(key);
    } catch (error) {
      return {
        ok: false,
        error: { code: 'tool_start_failed', message: errorMessage(error) },
      };
    }
    this.busy.add(worker);
    try {
      const outcome = await worker.run(call);
      // A failed call may have left its process in any state: that process serves no other.
      if (!outcome.ok) worker.kill();
      return outcome;
    } finally {
      this.busy.delete(worker);
      this.giveBack(worker);
    }
  }

  /** Stops every worker; calls in flight end as failures. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const list of this.idle.values()) for (const worker of list) worker.kill();
    this.idle.clear();
    for (const worker of this.busy) worker.kill();
  }

  /**
   * An idle worker of `key`: a started one with calls left first. A worker past its call budget
   * keeps serving until its successor has started, so replacing workers costs callers nothing.
   */
  private take(key: string): ToolWorker | undefined {
    const alive = (this.idle.get(key) ?? []).filter((w) => w.idle);
    const fresh = alive.filter((w) => w.calls < this.options.maxCalls);
    const readyFresh = fresh.find((w) => w.isReady);
    const pick = readyFresh ?? alive.find((w) => w.isReady) ?? fresh[0] ?? alive[0];
    if (readyFresh) for (const w of alive) if (w.calls >= this.options.maxCalls) w.kill();
    const rest = alive.filter((w) => w !== pick && w.idle);
    if (rest.length) this.idle.set(key, rest);
    else this.idle.delete(key);
    return pick;
  }

  private giveBack(worker: ToolWorker): void {
    if (this.closed) {
      worker.kill();
      return;
    }
    if (worker.idle) this.park(worker);
    // Retired or spent: start its successor now, off the callers' path, so the key stays warm.
    const spent = !worker.idle || worker.calls >= this.options.maxCalls;
    if (spent && !(this.idle.get(worker.key) ?? []).some((w) => w.idle && w.calls < this.options.maxCalls)) {
      try {
        this.park(this.options.create(worker.key));
      } catch {
        // The next call reports why a worker cannot start.
      }
    }
  }

  private park(worker: ToolWorker): void {
    const list = this.idle.get(worker.key) ?? [];
    list.push(worker);
    this.idle.delete(worker.key);
    this.idle.set(worker.key, list);
    this.trim();
  }

  /** Keeps at most `maxIdle` idle workers, stopping those of the least recently used keys. */
  private trim(): void {
    let excess = this.size.idle - this.options.maxIdle;
    for (const [key, list] of this.idle) {
      while (excess > 0 && list.length) {
        list.shift()!.kill();
        excess -= 1;
      }
      if (!list.length) this.idle.delete(key);
      if (excess <= 0) break;
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, list] of this.idle) {
      const keep = list.filter((worker) => {
        if (worker.idle && now - worker.lastUsed < this.options.idleMs) return true;
        worker.kill();
        return false;
      });
      if (keep.length) this.idle.set(key, keep);
      else this.idle.delete(key);
    }
  }
}
