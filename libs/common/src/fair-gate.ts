// A gate that lets work through fairly between tenants: at most `concurrency` pieces at once, at
// most `perApp` of one app's, and when a place frees up it goes to the app served least recently
// that has work waiting, then, within that app, to its user served least recently. One app's burst
// therefore waits behind its own work, never in front of another app's. Work beyond the limits
// waits its turn; it is refused only when the gate was given a `queueLimit` and the line is full,
// or a piece was given a longest wait (`maxWaitMs`) and waited that long.

export interface FairGateOptions {
  /** Pieces of work let through at once. */
  concurrency: number;
  /** Pieces of one app's work let through at once. @default no cap beyond `concurrency` */
  perApp?: number;
  /**
   * Pieces let through in one turn of the event loop; the rest wait for the next turn, after the
   * input that arrived meanwhile has been read. Bounds the synchronous work (SQLite statements) a
   * burst runs back to back, and lets another app's message into the line. One place more is kept
   * in each turn for an app that had none in it, so another app's piece never waits a turn behind
   * a burst that used the turn up. @default no limit
   */
  perTick?: number;
  /** Pieces waiting at once; one more is refused at once (`GateRefusedError`, `full`). @default no limit */
  queueLimit?: number;
}

/** A piece of work the gate would not let wait: its line was full, or it waited its longest. */
export class GateRefusedError extends Error {
  override readonly name = 'GateRefusedError';
  constructor(
    readonly reason: 'full' | 'timeout',
    /** Pieces through the gate and waiting at it when this one was refused. */
    readonly running: number,
    readonly waiting: number,
    /** How long it waited (`timeout`). */
    readonly waitedMs = 0,
  ) {
    super(
      reason === 'full'
        ? `${waiting} pieces of work are waiting, the limit`
        : `no place was free for ${waitedMs} ms (${running} running, ${waiting} waiting)`,
    );
  }
}

/** A piece waiting at the gate: what lets it through, what refuses it, and its longest wait. */
interface Waiting {
  start: () => void;
  refuse: (error: GateRefusedError) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Waiting work of one app: its users in the order they get their next turn (round robin), each with its own queue. */
type AppQueue = Map<string, Waiting[]>;

export class FairGate {
  private readonly waitingApps = new Map<string, AppQueue>();
  private readonly inside = new Map<string, number>();
  /** When each app was last let through (the count of pieces let through then); the one served longest ago goes first. */
  private readonly served = new Map<string, number>();
  private servedCount = 0;
  private active = 0;
  private queued = 0;
  private readonly perApp: number;
  private readonly perTick: number;
  /** Pieces let through in this turn of the event loop, and the apps they were of. */
  private thisTick = 0;
  private readonly tickApps = new Set<string>();

  constructor(private readonly options: FairGateOptions) {
    this.perApp = options.perApp && options.perApp > 0 ? options.perApp : Infinity;
    this.perTick = options.perTick && options.perTick > 0 ? options.perTick : Infinity;
  }

  /** Pieces of work waiting at the gate. */
  get waiting(): number {
    return this.queued;
  }

  /** Pieces of work through the gate now, of one app or of all. */
  running(appId?: string): number {
    return appId === undefined ? this.active : (this.inside.get(appId) ?? 0);
  }

  /**
   * Runs `work` once the gate lets it through for (`appId`, `userId`).
   * @throws GateRefusedError when the line is full, or the piece waited `maxWaitMs`
   */
  async run<T>(
    appId: string,
    userId: string,
    work: () => Promise<T>,
    options: { maxWaitMs?: number } = {},
  ): Promise<T> {
    await this.enter(appId, userId, options.maxWaitMs);
    try {
      return await work();
    } finally {
      this.leave(appId);
    }
  }

  /**
   * Waits for (`appId`, `userId`)'s turn and passes straight through: paces work that goes on by
   * itself afterwards (a model's reply resuming its run), a few per turn of the event loop.
   */
  async turn(appId: string, userId: string): Promise<void> {
    await this.run(appId, userId, async () => undefined);
  }

  private enter(appId: string, userId: string, maxWaitMs: number | undefined): Promise<void> {
    if (this.active < this.options.concurrency && this.mayPass(appId) && !this.waitingApps.has(appId)) {
      this.occupy(appId);
      return Promise.resolve();
    }
    if (this.queued >= (this.options.queueLimit ?? Infinity))
      return Promise.reject(new GateRefusedError('full', this.active, this.queued));
    return new Promise<void>((start, refuse) => {
      const entry: Waiting = { start, refuse, timer: undefined };
      let app = this.waitingApps.get(appId);
      if (!app) this.waitingApps.set(appId, (app = new Map<string, Waiting[]>()));
      const queue = app.get(userId);
      if (queue) queue.push(entry);
      else app.set(userId, [entry]);
      this.queued += 1;
      if (maxWaitMs !== undefined)
        entry.timer = setTimeout(() => this.giveUp(appId, userId, entry, maxWaitMs), maxWaitMs);
    });
  }

  /** Takes a piece that waited its longest out of the line, refusing it. */
  private giveUp(appId: string, userId: string, entry: Waiting, waitedMs: number): void {
    const app = this.waitingApps.get(appId);
    const queue = app?.get(userId);
    const index = queue?.indexOf(entry) ?? -1;
    if (!app || !queue || index < 0) return;
    queue.splice(index, 1);
    if (!queue.length) app.delete(userId);
    if (!app.size) this.waitingApps.delete(appId);
    this.queued -= 1;
    entry.refuse(new GateRefusedError('timeout', this.active, this.queued, waitedMs));
  }

  private leave(appId: string): void {
    this.active -= 1;
    const left = this.running(appId) - 1;
    if (left > 0) this.inside.set(appId, left);
    else {
      this.inside.delete(appId);
      // An app with nothing inside or waiting is forgotten; when it returns it is served first.
      if (!this.waitingApps.has(appId)) this.served.delete(appId);
    }
    this.dispatch();
  }

  /** Whether the app is within its cap and the turn has a place for it (the last one only for an app new to the turn). */
  private mayPass(appId: string): boolean {
    if (this.running(appId) >= this.perApp) return false;
    return this.thisTick < this.perTick || (this.thisTick === this.perTick && !this.tickApps.has(appId));
  }

  private occupy(appId: string): void {
    // The first piece of a turn starts the count; the next turn lets more through.
    if (this.thisTick++ === 0 && this.perTick !== Infinity)
      setImmediate(() => {
        this.thisTick = 0;
        this.tickApps.clear();
        this.dispatch();
      });
    if (this.perTick !== Infinity) this.tickApps.add(appId);
    this.served.set(appId, this.servedCount++);
    this.active += 1;
    this.inside.set(appId, this.running(appId) + 1);
  }

  /**
   * Gives free places to waiting work: each to the app served least recently, and within it to the
   * user whose turn it is (a user served goes to the back of the app's line).
   */
  private dispatch(): void {
    while (this.active < this.options.concurrency && this.thisTick <= this.perTick) {
      const appId = leastRecent(
        [...this.waitingApps.keys()].filter((a) => this.mayPass(a)),
        this.served,
      );
      if (appId === undefined) return;
      const app = this.waitingApps.get(appId)!;
      const [userId, queue] = app.entries().next().value as [string, Waiting[]];
      const entry = queue.shift()!;
      app.delete(userId);
      if (queue.length) app.set(userId, queue);
      if (!app.size) this.waitingApps.delete(appId);
      this.queued -= 1;
      clearTimeout(entry.timer);
      this.occupy(appId);
      entry.start();
    }
  }
}

/** The key served longest ago (never served: first), or undefined for none. */
function leastRecent(keys: readonly string[], served: ReadonlyMap<string, number>): string | undefined {
  let next: string | undefined;
  for (const key of keys) if (next === undefined || (served.get(key) ?? -1) < (served.get(next) ?? -1)) next = key;
  return next;
}
