// The OpenAI client against a real HTTP endpoint: requests as the SDK sends them, usage as the
// endpoint reports it, retries of transient failures, and errors that say what went wrong.
import { startChatCompletionsServer } from './openai-wire';
import type { ChatCompletionsServer, CompletionReply, CompletionRequestBody } from './openai-wire';
import { LlmCallError, OpenAiLlmClient } from './openai-llm-client';

let server: ChatCompletionsServer;
let replies: CompletionReply[];
let received: CompletionRequestBody[];
beforeEach(async () => {
  replies = [];
  received = [];
  server = await startChatCompletionsServer((body) => (received.push(body), replies.shift() ?? { error: { status: 500, message: 'unscripted' } }));
});
afterEach(async () => server.close());

const client = (maxRetries = 0) => new OpenAiLlmClient({ apiKey: 'sk-test', baseURL: server.url, defaultModel: 'gpt-4o-mini', maxRetries, timeoutMs: 5000 });

describe('OpenAiLlmClient', () => {
  it('sends the agent\'s messages, model and tools, and returns text, tool calls and the endpoint\'s usage', async () => {
    replies.push({ content: 'hi', tool_calls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }], usage: { prompt_tokens: 17, completion_tokens: 4 }, model: 'gpt-4o-2024-08-06' });
    const reply = await client().complete({
      agent: 'A', model: 'gpt-4o', temperature: 0.3,
      messages: [{ role: 'system', content: 'sys' }, { role: 'user', name: 'B', content: 'from B' }],
      tools: [{ name: 'lookup', description: 'Looks up', parameters: { type: 'object' } }],
    });
    expect(received[0]).toMatchObject({
      model: 'gpt-4o', temperature: 0.3,
      messages: [{ role: 'system', content: 'sys' }, { role: 'user', name: 'B', content: 'from B' }],
      tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks up', parameters: { type: 'object' } } }],
    });
    expect(reply).toMatchObject({
      content: 'hi',
      tool_calls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }],
      usage: { agent: 'A', model: 'gpt-4o-2024-08-06', prompt_tokens: 17, completion_tokens: 4, total_tokens: 21 },
    });
  });

  it('streams when asked for deltas: text as it comes, tool calls assembled, usage from the last chunk', async () => {
    replies.push({ content: 'Let me look that up.', tool_calls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"streamed"}' }], usage: { prompt_tokens: 30, completion_tokens: 12 } });
    const deltas: string[] = [];
    const reply = await client().complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'lookup', description: 'Looks up', parameters: { type: 'object' } }] }, { onDelta: (d) => deltas.push(d) });
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
    const quiet = new OpenAiLlmClient({ apiKey: 'k', baseURL: server.url, defaultModel: 'm', maxRetries: 0, streaming: false });
    expect((await quiet.complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] }, { onDelta: (d) => deltas.push(d) })).content).toBe('whole');
    expect(received[0]!.stream).toBeUndefined();
    expect(deltas).toEqual([]);
  });

  it('reports a failing stream as an LLM error', async () => {
    replies.push({ error: { status: 500, message: 'boom' } });
    await expect(client().complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] }, { onDelta: () => undefined })).rejects.toMatchObject({ code: 'llm_error', status: 500 });
  });

  it('uses DEFAULT_MODEL when the agent names none, and sends no tools field without tools', async () => {
    replies.push({ content: 'ok', usage: { prompt_tokens: 1, completion_tokens: 1 } });
    await client().complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] });
    expect(received[0]!.model).toBe('gpt-4o-mini');
    expect(received[0]).not.toHaveProperty('tools');
  });

  it('retries a 503 and a 429, then succeeds', async () => {
    replies.push({ error: { status: 503, message: 'overloaded' } }, { error: { status: 429, message: 'slow down' } }, { content: 'finally', usage: { prompt_tokens: 1, completion_tokens: 1 } });
    const reply = await client(2).complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] });
    expect(reply.content).toBe('finally');
    expect(received).toHaveLength(3);
  });

  it('fails at once on a 401, with the endpoint\'s words and retryable false', async () => {
    replies.push({ error: { status: 401, message: 'Incorrect API key provided: sk-te**' } });
    const failure = client(2).complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] });
    await expect(failure).rejects.toBeInstanceOf(LlmCallError);
    await expect(failure).rejects.toMatchObject({ code: 'llm_error', retryable: false, status: 401, message: expect.stringContaining('Incorrect API key provided') });
    expect(received).toHaveLength(1);
  });

  it('reports an unreachable endpoint as a retryable LLM error', async () => {
    const unreachable = new OpenAiLlmClient({ apiKey: 'k', baseURL: 'http://127.0.0.1:1/v1', defaultModel: 'm', maxRetries: 0 });
    await expect(unreachable.complete({ agent: 'A', messages: [{ role: 'user', content: 'x' }], tools: [] })).rejects.toMatchObject({ code: 'llm_error', retryable: true });
  });
});
