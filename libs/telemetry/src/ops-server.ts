// The operations endpoints every service serves: /health (alive), /ready (can take work), /metrics;
// as a request handler (the gateway serves them beside its WebSocket) or a server of their own.
import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeMetrics } from './metrics.js';

export interface OpsServer {
  readonly address: AddressInfo;
  readonly server: Server;
  close(): Promise<void>;
}

export interface OpsRoutesOptions {
  metrics: RuntimeMetrics;
  /** What /ready answers: 200 when true, 503 otherwise. */
  isReady: () => boolean;
  /** More GET routes, by path. */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
  /** POST routes, by path. */
  postRoutes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

/** Writes a JSON response. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The ops routes (and `routes`, `postRoutes`) as one request handler; anything else is a 404 or 405 in JSON. */
export function opsRoutes(options: OpsRoutesOptions): RequestListener {
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/health': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/ready': (_req, res) => {
      const ready = options.isReady();
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready' });
    },
    '/metrics': (_req, res) =>
      void options.metrics.render().then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        () => sendJson(res, 500, { error: 'metrics_failed' }),
      ),
    ...options.routes,
  };
  const posts = options.postRoutes ?? {};
  return (req, res) => {
    const route = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (Object.hasOwn(posts, route)) {
      if (req.method !== 'POST')
        return sendJson(res, 405, { error: 'method_not_allowed', message: `${route} answers POST` });
      return posts[route]!(req, res);
    }
    const handler = Object.hasOwn(routes, route) ? routes[route] : undefined;
    if (!handler) return sendJson(res, 404, { error: 'not_found', message: `no route ${req.method} ${route}` });
    if (req.method !== 'GET')
      return sendJson(res, 405, { error: 'method_not_allowed', message: `${route} answers GET` });
    handler(req, res);
  };
}

export async function startOpsServer(options: {
  port: number;
  host: string;
  metrics: RuntimeMetrics;
  isReady: () => boolean;
}): Promise<OpsServer> {
  const server = createServer(opsRoutes(options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
