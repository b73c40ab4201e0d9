// A TCP proxy that holds every chunk a client sends for a fixed time before passing it on. Put in
// front of a database, it makes each request/response round trip `delayMs` longer, so the extra
// time a turn takes through it, divided by `delayMs`, is the number of round trips the turn waits
// for one after another: its store round trips on the critical path, whatever the server's speed.
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

export interface DelayProxy {
  readonly port: number;
  close(): Promise<void>;
}

export async function startDelayProxy(upstream: { host: string; port: number }, delayMs: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const server = connect(upstream.port, upstream.host);
    sockets.add(client).add(server);
    // Chunks leave in the order they came, each `delayMs` after it arrived.
    client.on('data', (chunk) => setTimeout(() => server.writable && server.write(chunk), delayMs));
    server.pipe(client);
    const end = () => (client.destroy(), server.destroy(), sockets.delete(client), sockets.delete(server));
    client.on('close', end).on('error', end);
    server.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
