// The error a store raises when it cannot be opened or reached: what the operator must fix, in one line.

/**
 * The store could not be opened (a data folder that cannot be written) or reached (a MongoDB
 * server that does not answer). The message names the path or host and the cause, never a password.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly retryable = true;
}
