// Stopping a process cleanly on SIGTERM/SIGINT: the one place, with run-service.ts, that exits.

/**
 * Calls `stop` once on the first SIGTERM or SIGINT, then `flush` (logs), then exits 0 (1 if
 * stopping failed). A second signal exits at once.
 */
export function onShutdown(
  stop: (signal: string) => Promise<void>,
  report: (error: unknown) => void,
  flush: () => Promise<void> = async () => {},
): void {
  let stopping = false;
  const exit = (code: number) => void flush().finally(() => process.exit(code));
  const handle = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    stop(signal).then(
      () => exit(0),
      (error: unknown) => {
        report(error);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGINT', () => handle('SIGINT'));
}
