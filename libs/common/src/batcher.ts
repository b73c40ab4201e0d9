// Work many callers ask for in the same turn of the event loop, done once for all of them: items
// added before the batch goes out (at the end of the turn, or at `maxItems`) are handed to one
// call, and every caller learns how that call went.

export interface BatcherOptions {
  /** Items in one call at most; a full batch goes out at once. @default 512 */
  maxItems?: number;
}

export class Batcher<T> {
  private items: T[] = [];
  private settle: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private readonly maxItems: number;

  constructor(
    private readonly work: (items: T[]) => Promise<void>,
    options: BatcherOptions = {},
  ) {
    this.maxItems = Math.max(1, options.maxItems ?? 512);
  }

  /** Resolves once the batch holding `item` is done; rejects with that batch's failure. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.items.push(item);
      this.settle.push({ resolve, reject });
      if (this.items.length >= this.maxItems) this.flush();
      else if (this.items.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    const settle = this.settle;
    this.items = [];
    this.settle = [];
    this.work(items).then(
      () => settle.forEach((s) => s.resolve()),
      (error: unknown) => settle.forEach((s) => s.reject(error)),
    );
  }
}
