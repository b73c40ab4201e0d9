// The operations endpoints every service serves: /health (alive), /ready (can take work), /metrics.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeMetrics } from './metrics.js';

export interface OpsServer {
  readonly address: AddressInfo;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startOpsServer(options: { port: number; host: string; metrics: RuntimeMetrics; isReady: () => boolean }): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const route = new URL(req.url ?? '/', 'http://localhost').pathname;
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method !== 'GET') return json(405, { error: 'method_not_allowed' });
    if (route === '/health') return json(200, { status: 'ok' });
    if (route === '/ready') {
      const ready = options.isReady();
      return json(ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready' });
    }
    if (route === '/metrics') {
      void options.metrics.render().then(({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body));
      return;
    }
    json(404, { error: 'not_found', message: `no route ${route}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
