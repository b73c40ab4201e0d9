// Admits tool calls to a runner's slots fairly between tenants: at most `concurrency` run at once,
// at most `perApp` of them for one app, and a freed slot goes to the next app in turn rather than
// to whoever queued most. A call that waits too long, or finds the queue full, is refused.

export interface FairSchedulerOptions {
  /** Calls running at once on this runner. */
  concurrency: number;
  /** Calls of one app running at once, so that other apps always find a slot. */
  perApp: number;
  /** Calls waiting at once, over all apps; more are refused at once. */
  queueLimit: number;
}

/** Why a call was not admitted. */
export class SchedulerBusyError extends Error {
  override readonly name = 'SchedulerBusyError';
  readonly code = 'tool_busy';
  readonly retryable = true;
}

interface Waiting {
  start: () => void;
  refuse: (error: SchedulerBusyError) => void;
  timer: NodeJS.Timeout | undefined;
}

export class FairScheduler {
  /** Apps with waiting calls, in the order they get their next turn. */
  private readonly queues = new Map<string, Waiting[]>();
  private readonly running = new Map<string, number>();
  /** When each app was last given a slot, in turns; the app served longest ago goes first. */
  private readonly served = new Map<string, number>();
  private turn = 0;
  private active = 0;
  private waitingCount = 0;

  constructor(private readonly options: FairSchedulerOptions) {}

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** Calls running now. */
  get runningCount(): number {
    return this.active;
  }

  /** Runs `task` once `appId` has a slot; refuses with SchedulerBusyError after `maxWaitMs` or on a full queue. */
  async schedule<T>(appId: string, maxWaitMs: number, task: () => Promise<T>): Promise<T> {
    await this.admit(appId, maxWaitMs);
    try {
      return await task();
    } finally {
      this.active -= 1;
      const left = (this.running.get(appId) ?? 1) - 1;
      if (left > 0) this.running.set(appId, left);
      else {
        this.running.delete(appId);
        // An app with nothing running or waiting is forgotten; when it returns it is served first.
        if (!this.queues.has(appId)) this.served.delete(appId);
      }
      this.dispatch();
    }
  }

  private admit(appId: string, maxWaitMs: number): Promise<void> {
    if (
      this.active < this.options.concurrency &&
      (this.running.get(appId) ?? 0) < this.options.perApp &&
      !this.queues.has(appId)
    ) {
      this.occupy(appId);
      return Promise.resolve();
    }
    if (this.waitingCount >= this.options.queueLimit) {
      return Promise.reject(
        new SchedulerBusyError(`the tool-runner has ${this.waitingCount} calls waiting, its limit; try again shortly`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Waiting = { start: resolve, refuse: reject, timer: undefined };
      entry.timer = setTimeout(() => {
        const queue = this.queues.get(appId);
        const index = queue?.indexOf(entry) ?? -1;
        if (!queue || index < 0) return;
        queue.splice(index, 1);
        if (!queue.length) this.queues.delete(appId);
        this.waitingCount -= 1;
        reject(
          new SchedulerBusyError(
            `no tool slot was free for ${maxWaitMs} ms (${this.active} calls running, ${this.waitingCount} waiting)`,
          ),
        );
      }, maxWaitMs);
      const queue = this.queues.get(appId);
      if (queue) queue.push(entry);
      else this.queues.set(appId, [entry]);
      this.waitingCount += 1;
    });
  }

  private occupy(appId: string): void {
    this.served.set(appId, this.turn++);
    this.active += 1;
    this.running.set(appId, (this.running.get(appId) ?? 0) + 1);
  }

  /** Gives free slots to waiting calls: each to the app served least recently that is under its share. */
  private dispatch(): void {
    while (this.active < this.options.concurrency) {
      let next: string | undefined;
      for (const appId of this.queues.keys()) {
        if ((this.running.get(appId) ?? 0) >= this.options.perApp) continue;
        if (next === undefined || (this.served.get(appId) ?? -1) < (this.served.get(next) ?? -1)) next = appId;
      }
      if (next === undefined) return;
      const queue = this.queues.get(next)!;
      const entry = queue.shift()!;
      if (!queue.length) this.queues.delete(next);
      clearTimeout(entry.timer);
      this.waitingCount -= 1;
      this.occupy(next);
      entry.start();
    }
  }
}
