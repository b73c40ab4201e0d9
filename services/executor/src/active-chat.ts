// A chat being served in this process: what hands its run back, the nudges that came for it
// meanwhile, the run going now, and how its serving ends.

export interface ActiveChat {
  /** Hands the chat's run back on stop. */
  readonly controller: AbortController;
  /**
   * Set by a nudge that arrived while the chat was served here: the inbox is read again before the
   * chat is let go. That nudge is acknowledged at once: the request being served stays
   * unacknowledged until then, and should this process die it comes back and reads the whole inbox.
   */
  wake: boolean;
  /** The highest input the waking nudges named; undefined when one named none (a sweep's). */
  wakeSeq: number | undefined;
  /** The run going now, and what cancels it. */
  current?: { runId: string; cancel: AbortController };
  /** Settles as the serving of the chat here ends: rejected when its request is to be delivered again. */
  served?: Promise<void>;
  /**
   * Its runs are over, its lease let go, and only its usage is still being published: a nudge now
   * serves the chat anew at once, its usage published after this one's (`usage`).
   */
  settling?: boolean;
  /** Settles once every usage event of this serving is published (rejects when one could not be). */
  usage?: Promise<void>;
}

export function newActiveChat(): ActiveChat {
  return { controller: new AbortController(), wake: false, wakeSeq: undefined };
}

/** Notes a nudge for a chat served here. */
export function wakeUp(chat: ActiveChat, inputSeq: number | undefined): void {
  chat.wakeSeq =
    inputSeq === undefined || (chat.wake && chat.wakeSeq === undefined)
      ? undefined
      : Math.max(chat.wakeSeq ?? 0, inputSeq);
  chat.wake = true;
}

/** Clears the wake-up, returning the input it named (undefined: read the inbox for all). */
export function takeWake(chat: ActiveChat): number | undefined {
  const seq = chat.wakeSeq;
  chat.wake = false;
  chat.wakeSeq = undefined;
  return seq;
}
