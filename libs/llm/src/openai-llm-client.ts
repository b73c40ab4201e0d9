// The engine's LlmClient for any OpenAI-compatible base URL, speaking the chat-completions wire
// format itself (completion-http.ts). Token counts come from the endpoint's own usage report, or
// are counted here when it sends none. Transient failures (connection errors, 408, 409, 429, 5xx,
// a stream cut before its end) are retried with backoff, each retry logged; a reply is complete
// only when the endpoint said why it finished.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LlmCallError } from '@mozaiks/engine';
import type { LlmCallOptions, LlmClient, LlmMessage, LlmRequest, LlmResponse, LlmToolCall } from '@mozaiks/engine';
import { CompletionHttp, HttpStatusError } from './completion-http.js';
import { estimatedUsage } from './token-estimate.js';
import { backoffDelay, errorMessage } from '@mozaiks/common';

/** The endpoint's usage report. */
interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
}

/** A tool call as the wire carries it: whole in a reply, in pieces (by index) in a stream. */
interface WireToolCallPart {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

/** A plain reply (`chat.completion`). */
interface WireCompletion {
  id?: string;
  model?: string;
  choices?: Array<{ message?: { content?: string | null; tool_calls?: WireToolCallPart[] } }>;
  usage?: WireUsage | null;
}

/** One piece of a streamed reply (`chat.completion.chunk`). */
interface WireChunk {
  id?: string;
  model?: string;
  choices?: Array<{
    finish_reason?: string | null;
    delta?: { content?: string | null; tool_calls?: WireToolCallPart[] };
  }>;
  usage?: WireUsage | null;
}

export interface OpenAiLlmClientOptions {
  apiKey: string;
  /** Base URL of the endpoint. @default https://api.openai.com/v1 */
  baseURL?: string;
  /** Model for requests that name none. */
  defaultModel: string;
  /** How long an attempt may wait for the endpoint to say anything (first byte, next piece). @default 120000 */
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
  private readonly http: CompletionHttp;

  constructor(private readonly options: OpenAiLlmClientOptions) {
    this.http = new CompletionHttp({
      baseURL: options.baseURL ?? 'https://api.openai.com/v1',
      apiKey: options.apiKey,
      timeoutMs: options.timeoutMs ?? 120_000,
    });
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
    if (onDelta && (this.options.streaming ?? true)) return this.stream(request, body, signal, onDelta);
    const completion = (await this.http.json(body, signal)) as WireCompletion;
    const choice = completion.choices?.[0];
    if (!choice?.message)
      throw new LlmCallError(`LLM endpoint returned no choices for model ${model}`, { retryable: true });
    const content = choice.message.content ?? null;
    const toolCalls = (choice.message.tool_calls ?? [])
      .filter((c) => (c.type ?? 'function') === 'function')
      .map((c) => ({ id: c.id ?? '', name: c.function?.name ?? '', arguments: c.function?.arguments ?? '' }));
    return {
      content,
      tool_calls: toolCalls,
      usage: toUsage(request, completion.id ?? '', completion.model || model, completion.usage, content, toolCalls),
    };
  }

  /** A streamed completion: text handed to `onDelta` as it arrives, tool calls assembled by index. */
  private async stream(
    request: LlmRequest,
    body: Record<string, unknown> & { model: string },
    signal: AbortSignal | undefined,
    onDelta: (text: string) => void,
  ): Promise<LlmResponse> {
    let content = '';
    let finished = false;
    let id = '';
    let model = body.model;
    let usage: WireUsage | undefined;
    const calls = new Map<number, LlmToolCall>();
    const onChunk = (chunk: WireChunk) => {
      id ||= chunk.id ?? '';
      model = chunk.model || model;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (!choice) return;
      if (choice.finish_reason) finished = true;
      const delta = choice.delta;
      if (delta?.content) {
        content += delta.content;
        onDelta(delta.content);
      }
      for (const part of delta?.tool_calls ?? []) {
        const index = part.index ?? 0;
        const call = calls.get(index) ?? { id: '', name: '', arguments: '' };
        if (part.id) call.id = part.id;
        if (part.function?.name) call.name += part.function.name;
        if (part.function?.arguments) call.arguments += part.function.arguments;
        calls.set(index, call);
      }
    };
    const streamed = { ...body, stream: true, stream_options: { include_usage: true } };
    await this.http.stream(streamed, signal, (data) => onChunk(data as WireChunk));
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
  const header = error instanceof HttpStatusError ? error.retryAfter : undefined;
  const seconds = header === undefined ? NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(60_000, seconds * 1000);
  return backoffDelay({ initialMs: baseMs, maxMs: 8000, jitter: 'equal' }, attempt);
}

/** The call's usage as the endpoint reported it; counted here, and marked so, when it reported none. */
function toUsage(
  request: LlmRequest,
  id: string,
  model: string,
  usage: WireUsage | null | undefined,
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

/** A message as the wire carries it. */
function toWire(m: LlmMessage): Record<string, unknown> {
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
                type: 'function',
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.tool_call_id, content: m.content };
  }
}

function toToolSpec(t: LlmRequest['tools'][number]): Record<string, unknown> {
  return { type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } };
}

function toLlmCallError(error: unknown, model: string): LlmCallError {
  if (error instanceof HttpStatusError) {
    const { status } = error;
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
    // The endpoint's own words, trimmed: they say what is wrong (model, key, quota) without our secrets.
    return new LlmCallError(`LLM call to model ${model} failed (HTTP ${status}): ${error.detail.slice(0, 300)}`, {
      cause: error,
      retryable,
      status,
    });
  }
  const message = errorMessage(error);
  return new LlmCallError(`LLM call to model ${model} failed: ${message.slice(0, 300)}`, {
    cause: error,
    retryable: true,
  });
}
