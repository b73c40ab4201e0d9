// The engine's LlmClient on the openai SDK, against any OpenAI-compatible base URL. Token counts
// come from the endpoint's own usage report, or are counted here when it sends none. Transient
// failures (connection errors, 408, 409, 429, 5xx, a stream cut before its end) are retried with
// backoff, each retry logged; a reply is complete only when the endpoint said why it finished.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type OpenAI from 'openai';

/** The openai SDK, loaded with the first client made (not when the module is imported). */
let sdk: typeof OpenAI | undefined;
function openai(): typeof OpenAI {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (sdk ??= (require('openai') as { default: typeof OpenAI }).default);
}
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { LlmCallError } from '@mozaiks/engine';
import type { LlmCallOptions, LlmClient, LlmMessage, LlmRequest, LlmResponse, LlmToolCall } from '@mozaiks/engine';
import { httpFetch } from './http-fetch.js';
import { estimatedUsage } from './token-estimate.js';
import { backoffDelay, errorMessage } from '@mozaiks/common';

export interface OpenAiLlmClientOptions {
  apiKey: string;
  /** Base URL of the endpoint. @default the SDK's (api.openai.com) */
  baseURL?: string;
  /** Model for requests that name none. */
  defaultModel: string;
  /** Per-attempt timeout. @default 120000 */
  timeoutMs?: number;
  /** Retries of connection errors, 408, 409, 429, 5xx and cut streams, with backoff. @default 2 */
  maxRetries?: number;
  /** First retry's delay; each next one doubles it (with jitter), up to 8 s; `retry-after` wins. @default 500 */
  retryDelayMs?: number;
  /**
   * Stream replies (server-sent events, usage in the last chunk) so their text reaches clients
   * as it is produced. Turn off for an endpoint that does not report usage when streaming.
   * @default true
   */
  streaming?: boolean;
}

export class OpenAiLlmClient implements LlmClient {
  private made: OpenAI | undefined;

  constructor(private readonly options: OpenAiLlmClientOptions) {}

  /** The SDK's client, made (and the SDK loaded: some 50 ms) with the first call. */
  private get client(): OpenAI {
    const options = this.options;
    return (this.made ??= new (openai())({
      apiKey: options.apiKey,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      timeout: options.timeoutMs ?? 120_000,
      // Retried here instead, so that every retry is logged and a cut stream is retried too.
      maxRetries: 0,
      // Keep-alive node:http under the fetch surface: a third of the platform fetch's CPU per call.
      fetch: httpFetch(),
    }));
  }

  async complete(request: LlmRequest, options: LlmCallOptions = {}): Promise<LlmResponse> {
    const model = request.model ?? this.options.defaultModel;
    const retries = this.options.maxRetries ?? 2;
    let onDelta = options.onDelta;
    for (let attempt = 1; ; attempt++) {
      let streamed = '';
      try {
        return await this.attempt(
          request,
          model,
          options.signal,
          onDelta && ((text) => ((streamed += text), onDelta!(text))),
        );
      } catch (caught) {
        if (options.signal?.aborted) {
          // Stopped by the caller: the prompt was sent and part of the reply may have come.
          const usage = estimatedUsage(request, model, randomUUID(), streamed);
          throw new LlmCallError(`LLM call to model ${model} was stopped`, { cause: caught, retryable: false, usage });
        }
        const error = caught instanceof LlmCallError ? caught : toLlmCallError(caught, model);
        const fields = {
          model,
          agent: request.agent,
          attempt,
          ...(error.status === undefined ? {} : { status: error.status }),
          error: error.message,
        };
        if (!error.retryable || attempt > retries) {
          options.log?.error(fields, 'LLM call failed; giving up');
          throw error;
        }
        const delay = retryDelay(caught, attempt, this.options.retryDelayMs ?? 500);
        options.log?.warn({ ...fields, retry_in_ms: delay }, 'LLM call failed; retrying');
        // The client has part of a reply that will not be finished: the retry's text is not
        // streamed after it (the agent_message carries the reply whole).
        if (streamed) onDelta = undefined;
        await sleep(delay, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {
          throw error;
        });
      }
    }
  }

  private async attempt(
    request: LlmRequest,
    model: string,
    signal: AbortSignal | undefined,
    onDelta: ((text: string) => void) | undefined,
  ): Promise<LlmResponse> {
    const body = {
      model,
      messages: request.messages.map(toWire),
      ...(request.tools.length ? { tools: request.tools.map(toToolSpec) } : {}),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.max_tokens === undefined ? {} : { max_tokens: request.max_tokens }),
      ...(request.response_format
        ? {
            response_format: {
              type: 'json_schema' as const,
              json_schema: { name: request.response_format.name, schema: request.response_format.schema },
            },
          }
        : {}),
    };
    // The SDK keeps a listener on the signal it is given: each call gets a signal of its own, so a
    // run's signal does not gather one listener per model call.
    const own = signal && callSignal(signal);
    try {
      return await this.send(request, model, body, own ? { signal: own.signal } : {}, onDelta);
    } finally {
      own?.release();
    }
  }

  private async send(
    request: LlmRequest,
    model: string,
    body: OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming,
    requestOptions: { signal?: AbortSignal },
    onDelta: ((text: string) => void) | undefined,
  ): Promise<LlmResponse> {
    if (onDelta && (this.options.streaming ?? true)) return this.stream(request, body, requestOptions, onDelta);
    const completion = await this.client.chat.completions.create(body, requestOptions);
    const choice = completion.choices[0];
    if (!choice?.message)
      throw new LlmCallError(`LLM endpoint returned no choices for model ${model}`, { retryable: true });
    const content = choice.message.content ?? null;
    const toolCalls = (choice.message.tool_calls ?? [])
      .filter((c) => c.type === 'function')
      .map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
    return {
      content,
      tool_calls: toolCalls,
      usage: toUsage(request, completion.id, completion.model || model, completion.usage, content, toolCalls),
    };
  }

  /** A streamed completion: text handed to `onDelta` as it arrives, tool calls assembled by index. */
  private async stream(
    request: LlmRequest,
    body: OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming,
    requestOptions: { signal?: AbortSignal },
    onDelta: (text: string) => void,
  ): Promise<LlmResponse> {
    const stream = await this.client.chat.completions.create(
      { ...body, stream: true, stream_options: { include_usage: true } },
      requestOptions,
    );
    let content = '';
    let finished = false;
    let id = '';
    let model = body.model;
    let usage: OpenAI.CompletionUsage | undefined;
    const calls = new Map<number, LlmToolCall>();
    for await (const chunk of stream) {
      id ||= chunk.id;
      model = chunk.model || model;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.finish_reason) finished = true;
      const delta = choice.delta;
      if (delta?.content) {
        content += delta.content;
        onDelta(delta.content);
      }
      for (const part of delta?.tool_calls ?? []) {
        const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
        if (part.id) call.id = part.id;
        if (part.function?.name) call.name += part.function.name;
        if (part.function?.arguments) call.arguments += part.function.arguments;
        calls.set(part.index, call);
      }
    }
    // A stream that stops before the endpoint says why it finished was cut: it is not a reply.
    if (!finished)
      throw new LlmCallError(`LLM stream for model ${model} ended before the reply was finished`, { retryable: true });
    const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
    return {
      content: content || null,
      tool_calls: toolCalls,
      usage: toUsage(request, id, model, usage, content, toolCalls),
    };
  }
}

/** How long to wait before retry `attempt`: the endpoint's `retry-after`, else exponential with jitter. */
function retryDelay(error: unknown, attempt: number, baseMs: number): number {
  const headers =
    sdk && error instanceof sdk.APIError
      ? (error.headers as { get?: (name: string) => string | null } | undefined)
      : undefined;
  const header = headers?.get?.('retry-after');
  const seconds = header === undefined || header === null ? NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(60_000, seconds * 1000);
  return backoffDelay({ initialMs: baseMs, maxMs: 8000, jitter: 'equal' }, attempt);
}

/** The call's usage as the endpoint reported it; counted here, and marked so, when it reported none. */
function toUsage(
  request: LlmRequest,
  id: string,
  model: string,
  usage: OpenAI.CompletionUsage | null | undefined,
  content: string | null,
  toolCalls: LlmToolCall[],
): LlmResponse['usage'] {
  const call_id = id || randomUUID();
  if (!usage) return estimatedUsage(request, model, call_id, content, toolCalls);
  return {
    call_id,
    agent: request.agent,
    model,
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
  };
}

function toWire(m: LlmMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'system':
      return { role: 'system', content: m.content };
    case 'user':
      return { role: 'user', content: m.content, ...(m.name ? { name: m.name } : {}) };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.tool_calls?.length
          ? {
              tool_calls: m.tool_calls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.tool_call_id, content: m.content };
  }
}

function toToolSpec(t: LlmRequest['tools'][number]): ChatCompletionTool {
  return { type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } };
}

function toLlmCallError(error: unknown, model: string): LlmCallError {
  if (sdk && error instanceof sdk.APIError) {
    const status = error.status as number | undefined;
    // The endpoint's own words, trimmed: they say what is wrong (model, key, quota) without our secrets.
    const detail = (error.error as { message?: string } | undefined)?.message ?? error.message;
    const retryable = status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
    return new LlmCallError(
      `LLM call to model ${model} failed${status ? ` (HTTP ${status})` : ''}: ${String(detail).slice(0, 300)}`,
      {
        cause: error,
        retryable,
        ...(status === undefined ? {} : { status }),
      },
    );
  }
  const message = errorMessage(error);
  return new LlmCallError(`LLM call to model ${model} failed: ${message.slice(0, 300)}`, {
    cause: error,
    retryable: true,
  });
}

/** A signal aborted with `parent`, whose link to it is undone by `release`. */
function callSignal(parent: AbortSignal): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const forward = () => controller.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener('abort', forward, { once: true });
  return { signal: controller.signal, release: () => parent.removeEventListener('abort', forward) };
}
