// Cancelling a run from the client: the run stops between steps, an LLM call in flight is
// stopped, and a tool call in flight is abandoned (its result ignored).
import type { RunScope } from './run-types.js';

/** The run was cancelled through its `cancel` signal: it ends as cancelled (internal to the engine). */
export class RunCancelled extends Error {
  override name = 'RunCancelled';
}

/** Throws once the run is cancelled. */
export function checkCancelled(input: RunScope): void {
  if (input.cancel?.aborted) throw new RunCancelled(`run ${input.runId} was cancelled`);
}

/** `work`, unless the run is cancelled first: then the run stops and work's result is ignored. */
export function untilCancelled<T>(input: RunScope, work: Promise<T>): Promise<T> {
  const cancel = input.cancel;
  if (!cancel) return work;
  return new Promise<T>((resolve, reject) => {
    const onCancel = () => reject(new RunCancelled(`run ${input.runId} was cancelled`));
    cancel.addEventListener('abort', onCancel, { once: true });
    work.then(
      (value) => {
        cancel.removeEventListener('abort', onCancel);
        resolve(value);
      },
      (error: unknown) => {
        cancel.removeEventListener('abort', onCancel);
        reject(error);
      },
    );
  });
}
