// The `fetch` the LLM client hands the openai SDK: node:http(s) with keep-alive agents under the
// WHATWG Request/Response surface the SDK reads. Measured on a streamed completion from a local
// endpoint, the platform's fetch costs about 1.2 ms of CPU per call and this about 0.4 ms: the
// difference is undici's fetch machinery (request objects, controllers, transferable signals),
// paid on every model call. Aborting (the SDK's timeout, a cancelled run) destroys the request
// and fails the body with an AbortError, as fetch does.
import http from 'node:http';
import https from 'node:https';

export interface HttpFetchOptions {
  /** Connections kept per endpoint host. @default no limit */
  maxSockets?: number;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof Error && signal.reason.name !== 'AbortError'
    ? signal.reason
    : new DOMException('This operation was aborted', 'AbortError');
}

type RequestInitOf = NonNullable<Parameters<typeof fetch>[1]>;

function requestHeaders(headers: RequestInitOf['headers']): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers.map(([k, v]) => [k!, v!]));
  if (typeof (headers as unknown as Headers).entries === 'function')
    return Object.fromEntries((headers as unknown as Headers).entries());
  return { ...(headers as Record<string, string>) };
}

function requestBody(body: RequestInitOf['body']): string | Uint8Array | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError('this fetch sends string and byte bodies only');
}

/** A fetch on node:http(s) with keep-alive agents, for the openai SDK's `fetch` option. */
export function httpFetch(options: HttpFetchOptions = {}): typeof fetch {
  const agentOptions = { keepAlive: true, ...(options.maxSockets ? { maxSockets: options.maxSockets } : {}) };
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        return reject(new TypeError(`cannot fetch ${url.protocol} URLs`));
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(abortError(signal));
      let body: string | Uint8Array | undefined;
      try {
        body = requestBody(init.body);
      } catch (error) {
        return reject(error);
      }
      const transport = url.protocol === 'https:' ? https : http;
      const onAbort = () => req.destroy(abortError(signal!) as Error);
      const done = () => signal?.removeEventListener('abort', onAbort);
      const req = transport.request(
        url,
        { method: init.method ?? 'GET', headers: requestHeaders(init.headers), agent: agents[url.protocol] },
        (res) => {
          // Aborting stops the body too, until it has been read to its end.
          res.on('close', done);
          const headers = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          const status = res.statusCode ?? 0;
          const empty = status === 204 || status === 304 || init.method === 'HEAD';
          const stream = empty
            ? null
            : new ReadableStream<Uint8Array>({
                start(controller) {
                  res.on('data', (chunk: Buffer) =>
                    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
                  );
                  res.on('end', () => controller.close());
                  res.on('error', (error) => controller.error(signal?.aborted ? abortError(signal) : error));
                  // A response cut before its end (the endpoint died) is an error, not an end.
                  res.on('aborted', () =>
                    controller.error(
                      signal?.aborted ? abortError(signal) : new TypeError('the response was cut before its end'),
                    ),
                  );
                },
                cancel() {
                  res.destroy();
                },
              });
          if (empty) res.resume();
          resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers }));
        },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on(
        'error',
        (error) => (
          done(),
          reject(
            signal?.aborted ? abortError(signal) : new TypeError(`fetch failed: ${error.message}`, { cause: error }),
          )
        ),
      );
      req.end(body);
    });
}
