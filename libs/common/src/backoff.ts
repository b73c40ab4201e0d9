// One retry policy for every loop that waits before trying again (the bus, the LLM client, the
// store, the gateway's nudges, webhooks): the wait doubles from `initialMs` up to `maxMs`, and
// jitter spreads the retries of many callers so they do not arrive together.

/** How long to wait before each retry. */
export interface BackoffPolicy {
  /** The wait before the first retry. */
  readonly initialMs: number;
  /** The longest wait. */
  readonly maxMs: number;
  /** How much the wait grows per attempt. @default 2 */
  readonly factor?: number;
  /**
   * How the wait is spread: `full` draws it from 0 to the computed wait, `equal` from half of it
   * to all of it, `none` takes it as is. @default 'full'
   */
  readonly jitter?: 'full' | 'equal' | 'none';
}

/**
 * The wait before retry number `attempt` (1 for the first retry) under `policy`, in milliseconds.
 * `random` is Math.random unless a test fixes it.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const grown = policy.initialMs * (policy.factor ?? 2) ** Math.max(0, attempt - 1);
  const ceiling = Math.min(policy.maxMs, grown);
  switch (policy.jitter ?? 'full') {
    case 'none':
      return ceiling;
    case 'equal':
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    case 'full':
      return Math.round(random() * ceiling);
  }
}
