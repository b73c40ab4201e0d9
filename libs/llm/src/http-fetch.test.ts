// The LLM client's fetch against a real HTTP server: what the SDK reads of a response, and the
// failures fetch reports (a refused connection, an abort before and during the body, a cut body).
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpFetch } from './http-fetch';

let server: Server;
let url: string;
let handle: (req: IncomingMessage, res: ServerResponse, body: string) => void;
beforeEach(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const fetchIt = httpFetch();

describe('httpFetch', () => {
  it('sends method, headers and body, and returns status, headers and body', async () => {
    handle = (req, res, body) => {
      res.writeHead(201, 'Made', {
        'content-type': 'application/json',
        'x-seen': `${req.method} ${req.headers.authorization}`,
      });
      res.end(JSON.stringify({ echoed: JSON.parse(body) }));
    };
    const res = await fetchIt(`${url}/v1/x`, {
      method: 'POST',
      headers: new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' }),
      body: '{"a":1}',
    });
    expect([res.status, res.statusText, res.ok]).toEqual([201, 'Made', true]);
    expect(res.headers.get('x-seen')).toBe('POST Bearer k');
    expect(await res.json()).toEqual({ echoed: { a: 1 } });
  });

  it('reuses its connection for the next call (keep-alive)', async () => {
    const ports = new Set<number>();
    handle = (req, res) => (ports.add(req.socket.remotePort!), res.end('ok'));
    for (let i = 0; i < 3; i++) expect(await (await fetchIt(url, { method: 'POST', body: 'x' })).text()).toBe('ok');
    expect(ports.size).toBe(1);
  });

  it('streams the body as it comes', async () => {
    let finish: () => void = () => undefined;
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      finish = () => res.end('data: 2\n\n');
    };
    const res = await fetchIt(url, { method: 'POST', body: '' });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 1\n\n');
    finish();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: 2\n\n');
    expect((await reader.read()).done).toBe(true);
  });

  it('fails like fetch on a refused connection', async () => {
    const closed = url;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await expect(fetchIt(closed, { method: 'POST', body: 'x' })).rejects.toThrow(/fetch failed: .*ECONNREFUSED/);
  });

  it('aborts with an AbortError before the response and while the body streams', async () => {
    handle = () => undefined;
    const early = new AbortController();
    const pending = fetchIt(url, { method: 'POST', body: 'x', signal: early.signal });
    setTimeout(() => early.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });

    handle = (_req, res) => (res.writeHead(200), res.write('part'));
    const late = new AbortController();
    const res = await fetchIt(url, { method: 'POST', body: 'x', signal: late.signal });
    const reader = res.body!.getReader();
    await reader.read();
    late.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('fails the body when the server cuts the response before its end', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
      setTimeout(() => res.destroy(), 20);
    };
    const res = await fetchIt(url, { method: 'POST', body: 'x' });
    await expect(res.text()).rejects.toThrow();
  });
});
