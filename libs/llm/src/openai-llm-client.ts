// The engine's LlmClient on the openai SDK, against any OpenAI-compatible base URL. Token counts
// come from the endpoint's own usage report; the SDK retries transient failures.
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { ErrorCode, RuntimeError } from '@mozaiks/protocol';
import type { LlmCallOptions, LlmClient, LlmMessage, LlmRequest, LlmResponse, LlmToolCall } from '@mozaiks/engine';

export interface OpenAiLlmClientOptions {
  apiKey: string;
  /** Base URL of the endpoint. @default the SDK's (api.openai.com) */
  baseURL?: string;
  /** Model for requests that name none. */
  defaultModel: string;
  /** Per-attempt timeout. @default 120000 */
  timeoutMs?: number;
  /** Retries of connection errors, 408, 409, 429 and 5xx, with backoff. @default 2 */
  maxRetries?: number;
  /**
   * Stream replies (server-sent events, usage in the last chunk) so their text reaches clients
   * as it is produced. Turn off for an endpoint that does not report usage when streaming.
   * @default true
   */
  streaming?: boolean;
}

/** An LLM call that failed after its retries. */
export class LlmCallError extends RuntimeError {
  override name = 'LlmCallError';
  constructor(message: string, options: { cause?: unknown; retryable: boolean; status?: number }) {
    super(ErrorCode.LlmError, message, options);
    this.status = options.status;
  }
  readonly status: number | undefined;
}

export class OpenAiLlmClient implements LlmClient {
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiLlmClientOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      timeout: options.timeoutMs ?? 120_000,
      maxRetries: options.maxRetries ?? 2,
    });
  }

  async complete(request: LlmRequest, options: LlmCallOptions = {}): Promise<LlmResponse> {
    const model = request.model ?? this.options.defaultModel;
    const body = {
      model,
      messages: request.messages.map(toWire),
      ...(request.tools.length ? { tools: request.tools.map(toToolSpec) } : {}),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.max_tokens === undefined ? {} : { max_tokens: request.max_tokens }),
      ...(request.response_format
        ? { response_format: { type: 'json_schema' as const, json_schema: { name: request.response_format.name, schema: request.response_format.schema } } }
        : {}),
    };
    const requestOptions = options.signal ? { signal: options.signal } : {};
    try {
      if (options.onDelta && (this.options.streaming ?? true)) return await this.stream(request, body, requestOptions, options.onDelta);
      const completion = await this.client.chat.completions.create(body, requestOptions);
      const message = completion.choices[0]?.message;
      if (!message) throw new LlmCallError(`LLM endpoint returned no choices for model ${model}`, { retryable: true });
      return {
        content: message.content ?? null,
        tool_calls: (message.tool_calls ?? [])
          .filter((c) => c.type === 'function')
          .map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
        usage: toUsage(request.agent, completion.id, completion.model || model, completion.usage),
      };
    } catch (error) {
      throw error instanceof LlmCallError ? error : toLlmCallError(error, model);
    }
  }

  /** A streamed completion: text handed to `onDelta` as it arrives, tool calls assembled by index. */
  private async stream(
    request: LlmRequest,
    body: OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming,
    requestOptions: { signal?: AbortSignal },
    onDelta: (text: string) => void,
  ): Promise<LlmResponse> {
    const stream = await this.client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, requestOptions);
    let content = '';
    let sawChoice = false;
    let id = '';
    let model = body.model;
    let usage: OpenAI.CompletionUsage | undefined;
    const calls = new Map<number, LlmToolCall>();
    for await (const chunk of stream) {
      id ||= chunk.id;
      model = chunk.model || model;
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices[0]?.delta;
      if (!delta) continue;
      sawChoice = true;
      if (delta.content) {
        content += delta.content;
        onDelta(delta.content);
      }
      for (const part of delta.tool_calls ?? []) {
        const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
        if (part.id) call.id = part.id;
        if (part.function?.name) call.name += part.function.name;
        if (part.function?.arguments) call.arguments += part.function.arguments;
        calls.set(part.index, call);
      }
    }
    if (!sawChoice) throw new LlmCallError(`LLM endpoint returned no choices for model ${model}`, { retryable: true });
    return {
      content: content || null,
      tool_calls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c),
      usage: toUsage(request.agent, id, model, usage),
    };
  }
}

function toUsage(agent: string, id: string, model: string, usage: OpenAI.CompletionUsage | null | undefined): LlmResponse['usage'] {
  return {
    call_id: id || randomUUID(),
    agent,
    model,
    prompt_tokens: usage?.prompt_tokens ?? 0,
    completion_tokens: usage?.completion_tokens ?? 0,
    total_tokens: usage?.total_tokens ?? (usage ? usage.prompt_tokens + usage.completion_tokens : 0),
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
          ? { tool_calls: m.tool_calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
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
  if (error instanceof OpenAI.APIError) {
    const status = error.status;
    // The endpoint's own words, trimmed: they say what is wrong (model, key, quota) without our secrets.
    const detail = (error.error as { message?: string } | undefined)?.message ?? error.message;
    const retryable = status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
    return new LlmCallError(`LLM call to model ${model} failed${status ? ` (HTTP ${status})` : ''}: ${String(detail).slice(0, 300)}`, {
      cause: error,
      retryable,
      ...(status === undefined ? {} : { status }),
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LlmCallError(`LLM call to model ${model} failed: ${message.slice(0, 300)}`, { cause: error, retryable: true });
}
