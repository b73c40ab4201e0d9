// The OpenAI-compatible client against a real HTTP endpoint: requests in the chat-completions wire
// format, usage as the endpoint reports it, retries of transient failures, and errors that say
// what went wrong.
import { startChatCompletionsServer } from './openai-wire';
import type { ChatCompletionsServer, CompletionReply, CompletionRequestBody } from './openai-wire';
import { LlmCallError } from '@mozaiks/engine';
import { OpenAiLlmClient } from './openai-llm-client';

let server: ChatCompletionsServer;
let replies: CompletionReply[];
let received: CompletionRequestBody[];
beforeEach(async () => {
  replies = [];
  received = [];
  server = await startChatCompletionsServer(
    (body) => (received.push(body), replies.shift() ?? { error: { status: 500, message: 'unscripted' } }),
  );
});
afterEach(async () => server.close());

const client = (maxRetries = 0) =>
  new OpenAiLlmClient({
    apiKey: 'sk-test',
    baseURL: server.url,
    defaultModel: 'gpt-4o-mini',
    maxRetries,
    timeoutMs: 5000,
    retryDelayMs: 10,
  });

/** A log that keeps what it is told. */
function recorder() {
  const lines: Array<{ level: 'warn' | 'error'; fields: Record<string, unknown>; message: string }> = [];
  return {
    lines,
    log: {
      warn: (fields: Record<string, unknown>, message: string) => void lines.push({ level: 'warn', fields, message }),
      error: (fields: Record<string, unknown>, message: string) => void lines.push({ level: 'error', fields, message }),
    },
  };
}

describe('OpenAiLlmClient', () => {
  it("sends the agent's messages, model and tools, and returns text, tool calls and the endpoint's usage", async () => {
    replies.push({
      content: 'hi',
      tool_calls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }],
      usage: { prompt_tokens: 17, completion_tokens: 4 },
      model: 'gpt-4o-2024-08-06',
    });
    const reply = await client().complete({
      agent: 'A',
      model: 'gpt-4o',
      temperature: 0.3,
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', name: 'B', content: 'from B' },
      ],
      tools: [{ name: 'lookup', description: 'Looks up', parameters: { type: 'object' } }],
    });
    expect(received[0]).toMatchObject({
      model: 'gpt-4o',
      temperature: 0.3,
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', name: 'B', content: 'from B' },
      ],
      tools: [
        { type: 'function', function: { name: 'lookup', description: 'Looks up', parameters: { type: 'object' } } },
      ],
    });
    expect(reply).toMatchObject({
      content: 'hi',
      tool_calls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }],
      usage: { agent: 'A', model: 'gpt-4o-2024-08-06', prompt_tokens: 17, completion_tokens: 4, total_tokens: 21 },
    });
  });

  it('streams when asked for deltas: text as it comes, tool calls assembled, usage from the last chunk', async () => {
    replies.push({
      content: 'Let me look that up.',
      tool_calls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"streamed"}' }],
      usage: { prompt_tokens: 30, completion_tokens: 12 },
    });
    const deltas: string[] = [];
    const reply = await client().complete(
      {
        agent: 'A',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ name: 'lookup', description: 'Looks up', parameters: { type: 'object' } }],
      },
      { onDelta: (d) => deltas.push(d) },
    );
    expect(received[0]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Let me look that up.');
    expect(reply).toMatchObject({
      content: 'Let me look that up.',
      tool_calls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"streamed"}' }],
      usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 },
    });
  });

  it('does not stream when streaming is off, even if asked for deltas', async () => {
    replies.push({ content: 'whole', usage: { prompt_tokens: 1, completion_tokens: 1 } });
    const deltas: string[] = [];
    const quiet = new OpenAiLlmClient({
      apiKey: 'k',
      baseURL: server.url,
      defaultModel: 'm',
      maxRetries: 0,
      streaming: false,
    });
    expect(
      (
        await quiet.complete(
          { agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] },
          { onDelta: (d) => deltas.push(d) },
        )
      ).content,
    ).toBe('whole');
    expect(received[0]!.stream).toBeUndefined();
    expect(deltas).toEqual([]);
  });

  it('reports a failing stream as an LLM error', async () => {
    replies.push({ error: { status: 500, message: 'boom' } });
    await expect(
      client().complete(
        { agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] },
        { onDelta: () => undefined },
      ),
    ).rejects.toMatchObject({ code: 'llm_error', status: 500 });
  });

  it('uses DEFAULT_MODEL when the agent names none, and sends no tools field without tools', async () => {
    replies.push({ content: 'ok', usage: { prompt_tokens: 1, completion_tokens: 1 } });
    await client().complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] });
    expect(received[0]!.model).toBe('gpt-4o-mini');
    expect(received[0]).not.toHaveProperty('tools');
  });

  it('retries a 503 and a 429, then succeeds', async () => {
    replies.push(
      { error: { status: 503, message: 'overloaded' } },
      { error: { status: 429, message: 'slow down' } },
      { content: 'finally', usage: { prompt_tokens: 1, completion_tokens: 1 } },
    );
    const reply = await client(2).complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] });
    expect(reply.content).toBe('finally');
    expect(received).toHaveLength(3);
  });

  it("fails at once on a 401, with the endpoint's words and retryable false", async () => {
    replies.push({ error: { status: 401, message: 'Incorrect API key provided: sk-te**' } });
    const failure = client(2).complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] });
    await expect(failure).rejects.toBeInstanceOf(LlmCallError);
    await expect(failure).rejects.toMatchObject({
      code: 'llm_error',
      retryable: false,
      status: 401,
      message: expect.stringContaining('Incorrect API key provided'),
    });
    expect(received).toHaveLength(1);
  });

  it('never takes a cut stream for a reply: it retries, and says llm_error when every try is cut', async () => {
    for (const cut of ['end', 'reset'] as const) {
      received.length = 0;
      replies.push(
        { content: 'half a sen', cut },
        { content: 'The whole reply.', usage: { prompt_tokens: 5, completion_tokens: 4 } },
      );
      const deltas: string[] = [];
      const { log, lines } = recorder();
      const reply = await client(1).complete(
        { agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] },
        { onDelta: (d) => deltas.push(d), log },
      );
      expect(reply.content).toBe('The whole reply.');
      expect(received).toHaveLength(2);
      // The retry's text is not streamed after the half reply the client already has (a reset
      // connection may have dropped the half reply before it arrived: then the retry streams).
      if (cut === 'end') expect(deltas.join('')).toBe('half a sen');
      else expect(['half a sen', 'The whole reply.']).toContain(deltas.join(''));
      expect(lines).toEqual([
        {
          level: 'warn',
          message: 'LLM call failed; retrying',
          fields: expect.objectContaining({
            model: 'gpt-4o-mini',
            agent: 'A',
            attempt: 1,
            retry_in_ms: expect.any(Number),
          }),
        },
      ]);
    }
    replies.push({ content: 'cut', cut: 'end' }, { content: 'cut again', cut: 'end' });
    const { log, lines } = recorder();
    await expect(
      client(1).complete(
        { agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] },
        { onDelta: () => undefined, log },
      ),
    ).rejects.toMatchObject({ code: 'llm_error', retryable: true });
    expect(lines.map((l) => [l.level, l.message, l.fields.attempt])).toEqual([
      ['warn', 'LLM call failed; retrying', 1],
      ['error', 'LLM call failed; giving up', 2],
    ]);
  });

  it('logs a refused call with its HTTP status, and never the key', async () => {
    replies.push({ error: { status: 401, message: 'Incorrect API key provided' } });
    const { log, lines } = recorder();
    await expect(
      client(2).complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] }, { log }),
    ).rejects.toMatchObject({ status: 401 });
    expect(lines).toEqual([
      {
        level: 'error',
        message: 'LLM call failed; giving up',
        fields: expect.objectContaining({ status: 401, attempt: 1, model: 'gpt-4o-mini' }),
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain('sk-test');
  });

  it('counts the tokens itself, and says so, when the endpoint reports no usage', async () => {
    const request = {
      agent: 'A',
      model: 'gpt-4o',
      messages: [
        { role: 'system' as const, content: 'You are a helpful assistant.' },
        { role: 'user' as const, content: 'What is the capital of France?' },
      ],
      tools: [],
    };
    replies.push({ content: 'The capital of France is Paris.' }, { content: 'The capital of France is Paris.' });
    for (const onDelta of [undefined, () => undefined]) {
      const reply = await client().complete(request, onDelta ? { onDelta } : {});
      // o200k counts: 6 + 7 tokens of text, 4 a message, 3 to prime the reply; 7 tokens of reply.
      expect(reply.usage).toMatchObject({ prompt_tokens: 24, completion_tokens: 7, total_tokens: 31, estimated: true });
    }
  });

  it('reports what a stopped call consumed', async () => {
    replies.push({
      content: 'one two three four five six seven eight nine ten',
      piece_delay_ms: 30,
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    });
    const controller = new AbortController();
    const deltas: string[] = [];
    const call = client().complete(
      { agent: 'A', model: 'gpt-4o', messages: [{ role: 'user', content: 'count' }], tools: [] },
      {
        signal: controller.signal,
        onDelta: (d) => (deltas.push(d), deltas.length === 3 && controller.abort()),
      },
    );
    const error = (await call.catch((e: unknown) => e)) as LlmCallError;
    expect(error).toBeInstanceOf(LlmCallError);
    expect(error.usage).toMatchObject({ agent: 'A', model: 'gpt-4o', estimated: true });
    // The three pieces streamed before the stop ("one two three "), not the whole reply.
    expect(error.usage!.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(error.usage!.completion_tokens).toBeLessThan(6);
    expect(error.usage!.prompt_tokens).toBeGreaterThan(0);
  });

  it('gives up on an endpoint silent past the timeout, as a retryable LLM error, and is served by the next try', async () => {
    replies.push({ content: 'too late', delay_ms: 1500 }, { content: 'in time' });
    const impatient = new OpenAiLlmClient({
      apiKey: 'k',
      baseURL: server.url,
      defaultModel: 'm',
      maxRetries: 0,
      timeoutMs: 300,
    });
    const request = { agent: 'A', messages: [{ role: 'user' as const, content: 'x' }], tools: [] };
    const started = Date.now();
    await expect(impatient.complete(request)).rejects.toMatchObject({
      code: 'llm_error',
      retryable: true,
      message: expect.stringContaining('silent for 300 ms'),
    });
    expect(Date.now() - started).toBeLessThan(1500);
    expect((await impatient.complete(request)).content).toBe('in time');
  });

  it('reports an unreachable endpoint as a retryable LLM error', async () => {
    const unreachable = new OpenAiLlmClient({
      apiKey: 'k',
      baseURL: 'http://127.0.0.1:1/v1',
      defaultModel: 'm',
      maxRetries: 0,
    });
    await expect(
      unreachable.complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] }),
    ).rejects.toMatchObject({ code: 'llm_error', retryable: true });
  });
});
