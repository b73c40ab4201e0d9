// The web console's routes: its page (with the development token filled in, when there is one)
// and its script, built by `npm run console`, served with a strict content security policy.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

/** The web console's page and script (services/gateway/console, built by `npm run console`). */
export function consoleRoutes(
  token: () => string | undefined,
): Record<string, (req: IncomingMessage, res: ServerResponse) => void> {
  const dir = path.join(__dirname, '../console');
  const page = readFileSync(path.join(dir, 'index.html'), 'utf8');
  const script = readFileSync(path.join(dir, 'app.js'));
  const headers = {
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  const attribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return {
    // The page may carry a token: never cached.
    '/console': (_req, res) =>
      res
        .writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(page.replace('%%DEV_TOKEN%%', attribute(token() ?? ''))),
    '/console/app.js': (_req, res) =>
      res
        .writeHead(200, { ...headers, 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' })
        .end(script),
  };
}
