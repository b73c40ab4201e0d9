// One chat-completions call over node:http(s) with keep-alive agents: the body sent as JSON, a
// plain reply read whole, a streamed reply's server-sent events parsed as its bytes arrive
// (eventsource-parser), with no fetch, web streams or SDK between the socket and the parser:
// those cost more CPU per call than the rest of a turn's model call together.
import http from 'node:http';
import https from 'node:https';
import { createParser } from 'eventsource-parser';

/** The endpoint answered with an error status; `detail` is its own words. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    /** The `retry-after` header, as sent. */
    readonly retryAfter: string | undefined,
  ) {
    super(`HTTP ${status}: ${detail}`);
    this.name = 'HttpStatusError';
  }
}

/** No whole reply: the connection failed, went silent past the timeout, or the reply was cut. */
export class ConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionError';
  }
}

export interface CompletionHttpOptions {
  /** Base URL of the endpoint, before `/chat/completions`. */
  baseURL: string;
  apiKey: string;
  /** How long the endpoint may stay silent (before its reply, and between streamed pieces). */
  timeoutMs: number;
}

/** The error a stopped call fails with: the signal's reason when it is an error, else an AbortError. */
function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}

/** The endpoint's own words from an error body: OpenAI's `{error: {message}}`, else the text. */
function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof body.error === 'string' ? body.error : (body.error?.message ?? body.message);
    if (typeof message === 'string') return message;
  } catch {
    // Not JSON: the text says it.
  }
  return text.trim() || 'no detail';
}

export class CompletionHttp {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: CompletionHttpOptions) {
    this.url = new URL(`${options.baseURL.replace(/\/+$/, '')}/chat/completions`);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:')
      throw new TypeError(`the LLM endpoint must be an http or https URL, not ${this.url.protocol}`);
    this.transport = this.url.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true });
    this.headers = {
      authorization: `Bearer ${options.apiKey}`,
      'content-type': 'application/json',
      'user-agent': 'mozaiks-runtime',
    };
  }

  /** Sends `body` and resolves with the reply parsed as JSON. */
  async json(body: object, signal: AbortSignal | undefined): Promise<unknown> {
    let text = '';
    await this.send(body, signal, 'application/json', (chunk) => (text += chunk));
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConnectionError('the reply is not JSON', { cause: error });
    }
  }

  /** Sends `body` (which asks for a stream) and hands each event's data, parsed, to `onData`. */
  async stream(body: object, signal: AbortSignal | undefined, onData: (data: unknown) => void): Promise<void> {
    const parser = createParser({
      onEvent: (event) => {
        if (event.data === '[DONE]') return;
        const data = JSON.parse(event.data) as { error?: unknown };
        // An error sent in the stream, after the status said all was well.
        if (data.error) throw new ConnectionError(`the stream reported an error: ${errorDetail(event.data)}`);
        onData(data);
      },
    });
    await this.send(body, signal, 'text/event-stream', (chunk) => parser.feed(chunk));
  }

  /** Posts `body`, handing the reply's text to `onText` as it arrives; an error status rejects. */
  private send(
    body: object,
    signal: AbortSignal | undefined,
    accept: string,
    onText: (text: string) => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error instanceof Error ? error : new ConnectionError(String(error)));
      };
      const req = this.transport.request(
        this.url,
        { method: 'POST', agent: this.agent, headers: { ...this.headers, accept } },
        (res) => {
          res.setEncoding('utf8');
          const status = res.statusCode ?? 0;
          const failed = status < 200 || status >= 300;
          let errorText = '';
          res.on('data', (text: string) => {
            if (failed) return void (errorText += text);
            try {
              onText(text);
            } catch (error) {
              finish(error);
              req.destroy();
            }
          });
          res.on('end', () => {
            const retryAfter = res.headers['retry-after'];
            finish(failed ? new HttpStatusError(status, errorDetail(errorText), retryAfter) : undefined);
          });
          // Closed before its end (the endpoint died, or the connection reset): not a reply.
          res.on('close', () => res.complete || finish(new ConnectionError('the response was cut before its end')));
          res.on('error', () => undefined);
        },
      );
      const onAbort = () => {
        finish(abortError(signal!));
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.setTimeout(this.options.timeoutMs, () =>
        req.destroy(new ConnectionError(`the endpoint was silent for ${this.options.timeoutMs} ms`)),
      );
      req.on('error', (error) =>
        finish(error instanceof ConnectionError ? error : new ConnectionError(error.message, { cause: error })),
      );
      req.end(JSON.stringify(body));
    });
  }
}
