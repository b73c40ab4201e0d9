// Many sockets at once, as the load benchmarks use them: opened in batches, then one message sent
// on each at the same moment and timed to its reply.
import { WebSocket } from 'ws';

/** How long a reply may take before it counts as a failure. */
const REPLY_TIMEOUT_MS = 180_000;
/** Sockets opened at once while connecting. */
const CONNECT_BATCH = 250;

/** Opens `n` sockets from `urls`, in batches; resolves with them once all are open. */
export async function openAll(urls: string[]): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < urls.length; i += CONNECT_BATCH) {
    const batch = urls.slice(i, i + CONNECT_BATCH).map(
      (url) =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(url);
          socket.once('open', () => resolve(socket));
          socket.once('error', reject);
        }),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

/** Failures printed so far (the first few are shown). */
let failureSeen = 0;

/**
 * Sends one message on every socket at once and times each to its reply: `isReply` tells a reply
 * from other frames, `isFailure` an error. Returns latencies (ms) of the replies and the failures.
 */
export async function fireAll(
  sockets: WebSocket[],
  message: string,
  isReply: (frame: { type?: string }) => boolean,
  isFailure: (frame: { type?: string }) => boolean,
): Promise<{ latencies: number[]; failures: number }> {
  const latencies: number[] = [];
  let failures = 0;
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          const started = performance.now();
          const timer = setTimeout(() => (failures++, resolve()), REPLY_TIMEOUT_MS);
          const finish = (ok: boolean) => {
            clearTimeout(timer);
            socket.removeAllListeners('message');
            if (ok) latencies.push(performance.now() - started);
            else failures++;
            resolve();
          };
          socket.on('message', (data) => {
            const frame = JSON.parse(data.toString()) as { type?: string; code?: string; message?: string };
            if (isReply(frame)) finish(true);
            else if (isFailure(frame)) {
              if (failureSeen++ < 3) console.error(`failure: ${JSON.stringify(frame)}`);
              finish(false);
            }
          });
          socket.once('close', () => finish(false));
          socket.send(message);
        }),
    ),
  );
  return { latencies, failures };
}
