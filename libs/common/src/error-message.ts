// The one way a caught value becomes the text of a log line or an error: an Error's message,
// anything else as a string.

/** `error.message` for an Error, `String(error)` for anything else thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
