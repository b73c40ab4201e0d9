// The served wire format is what the openai SDK expects, as JSON and as an SSE stream.
import OpenAI from 'openai';
import { startChatCompletionsServer } from './openai-wire';
import type { ChatCompletionsServer } from './openai-wire';

let server: ChatCompletionsServer;
beforeAll(async () => {
  server = await startChatCompletionsServer(() => ({
    content: 'Three words here.',
    tool_calls: [
      { id: 'call_a', name: 'lookup', arguments: '{"q":"x"}' },
      { name: 'other', arguments: '{}' },
    ],
    usage: { prompt_tokens: 11, completion_tokens: 7 },
  }));
});
afterAll(async () => server.close());

const sdk = () => new OpenAI({ apiKey: 'k', baseURL: server.url, maxRetries: 0 });

describe('startChatCompletionsServer', () => {
  it('answers a plain request as a chat.completion', async () => {
    const completion = await sdk().chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]!.message.content).toBe('Three words here.');
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]!.message.tool_calls?.map((c) => c.type === 'function' && c.function.name)).toEqual([
      'lookup',
      'other',
    ]);
    expect(completion.usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
  });

  it('streams chunks the SDK assembles into the same message, with the usage chunk last', async () => {
    const stream = sdk().chat.completions.stream({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    stream.on('content', (delta) => deltas.push(delta));
    const final = await stream.finalChatCompletion();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Three words here.');
    const calls = final.choices[0]!.message.tool_calls!;
    expect(calls.map((c) => c.type === 'function' && [c.id, c.function.name, c.function.arguments])).toEqual([
      ['call_a', 'lookup', '{"q":"x"}'],
      [expect.stringMatching(/^call_/), 'other', '{}'],
    ]);
    expect(final.usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
  });

  it('answers an unknown route with 404 and a non-JSON body with 400', async () => {
    expect((await fetch(`${server.url}/embeddings`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${server.url}/chat/completions`, { method: 'POST', body: 'nope' })).status).toBe(400);
  });
});
