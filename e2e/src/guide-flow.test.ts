// The integration guide's flow, as a client written from it: a launch token minted as the guide
// shows, a user_message as the guide shows, and the events and usage the guide promises.
import { SignJWT } from 'jose';
import { readdirSync } from 'node:fs';
import { WsTestClient, mongoTestServerAvailable, startMongoTestServer } from '@mozaiks/testing';
import type { MongoTestServer } from '@mozaiks/testing';
import { TEST_API_KEY, startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

const JWT_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

/** Exactly the guide's control-plane code, in TypeScript. */
async function issueToken(chatId = 'chat_789'): Promise<string> {
  return new SignJWT({
    iss: 'your-control-plane.com',
    aud: 'mozaiks-runtime',
    exp: Math.floor(Date.now() / 1000) + 3600,
    scope: 'workflow:execute',
    user_id: 'user_123',
    app_id: 'app_456',
    workflow_id: 'onboarding_flow',
    chat_id: chatId,
    max_tokens: 50000,
  })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(JWT_SECRET));
}

describe('with MONETIZATION_ENABLED=false', () => {
  it('still sends usage_update to the client but publishes nothing for billing', async () => {
    const t = await startTestRuntime({ env: { MONETIZATION_ENABLED: 'false' } });
    try {
      const billed: unknown[] = [];
      t.runtime.bus.subscribe('mozaiks.usage.>', (m) => void billed.push(m.data));
      t.llm.setFallback({ content: 'ok', usage: { prompt_tokens: 1, completion_tokens: 1 } });
      const client = await WsTestClient.connect(t.wsUrl(await issueToken()));
      const events = await client.exchange('hello');
      expect(events.at(-1)).toMatchObject({ type: 'usage_update', total_tokens: 4 });
      await new Promise((r) => setTimeout(r, 50));
      expect(billed).toEqual([]);
      await client.close();
    } finally {
      await t.stop();
    }
  });
});

const stores = mongoTestServerAvailable() ? (['sqlite', 'mongodb'] as const) : (['sqlite'] as const);

describe.each(stores)('the guide flow on the standalone runtime (%s)', (store) => {
  let t: TestRuntime;
  let mongo: MongoTestServer | undefined;
  beforeAll(async () => {
    if (store === 'mongodb') mongo = await startMongoTestServer();
  }, 30_000);
  afterAll(async () => mongo?.dispose());
  beforeEach(async () => {
    t = await startTestRuntime(mongo ? { mongo } : {});
  });
  afterEach(async () => {
    // On MongoDB the runtime keeps nothing of its own on disk.
    if (mongo) expect(readdirSync(t.dataDir.path)).toEqual([]);
    await t.stop();
  });

  it("answers a user_message with each agent's reply, then workflow_complete, then usage_update", async () => {
    t.llm.push(
      {
        content: "Hello! What is the customer's name and email?",
        usage: { prompt_tokens: 1200, completion_tokens: 800 },
      },
      { content: 'The request is complete enough to start.', usage: { prompt_tokens: 300, completion_tokens: 40 } },
    );
    const client = await WsTestClient.connect(t.wsUrl(await issueToken()));
    client.send({
      type: 'user_message',
      content: 'I want to onboard a new customer',
      chat_id: 'chat_789',
      user_id: 'user_123',
    });
    const usage = await client.waitForType('usage_update');
    const types = client.events.map((e) => e.type);
    // Each reply is followed by its model call's usage_delta.
    expect(types).toEqual([
      'agent_message',
      'usage_delta',
      'agent_message',
      'usage_delta',
      'workflow_complete',
      'usage_update',
    ]);
    expect(client.events.filter((e) => e.type === 'usage_delta').map((e) => [e.agent, e.total_tokens])).toEqual([
      ['DataCollector', 2000],
      ['Validator', 340],
    ]);

    const [first, second, complete] = client.events.filter((e) => e.type !== 'usage_delta');
    expect(first).toMatchObject({
      agent: 'DataCollector',
      content: "Hello! What is the customer's name and email?",
      chat_id: 'chat_789',
    });
    expect(second).toMatchObject({ agent: 'Validator', content: 'The request is complete enough to start.' });
    expect(complete).toMatchObject({
      workflow_id: 'onboarding_flow',
      status: 'completed',
      reason: 'agents_done',
      turns: 2,
    });

    // Every field the guide lists, with the endpoint's own token counts and the price table's cost:
    // DataCollector on gpt-4 ($30/$60 per million), Validator on DEFAULT_MODEL gpt-4o-mini ($0.15/$0.60).
    expect(usage).toMatchObject({
      type: 'usage_update',
      chat_id: 'chat_789',
      user_id: 'user_123',
      app_id: 'app_456',
      workflow_id: 'onboarding_flow',
      tokens: { prompt_tokens: 1500, completion_tokens: 840, total_tokens: 2340 },
      total_tokens: 2340,
      max_tokens: 50000,
    });
    expect(usage.cost_usd).toBeCloseTo(1200 * 30e-6 + 800 * 60e-6 + 300 * 0.15e-6 + 40 * 0.6e-6, 12);
    expect(typeof usage.event_id).toBe('string');
    expect(new Date(String(usage.timestamp)).toISOString()).toBe(usage.timestamp);

    // Each reply's text streamed first, live only: the deltas add up to the reply and carry no seq.
    const streamed = (agent: string) =>
      client.deltas
        .filter((d) => d.agent === agent)
        .map((d) => d.delta)
        .join('');
    expect(streamed('DataCollector')).toBe("Hello! What is the customer's name and email?");
    expect(streamed('Validator')).toBe('The request is complete enough to start.');
    expect(client.deltas.every((d) => d.seq === undefined && d.chat_id === 'chat_789')).toBe(true);

    // Every event has an id and a timestamp; persisted ones a gapless seq.
    expect(client.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(client.events.map((e) => e.event_id)).size).toBe(6);

    // The models were called with the agents' llm_config over DEFAULT_MODEL, and the API key.
    expect(t.llm.requests.map((r) => r.model)).toEqual(['gpt-4', 'gpt-4o-mini']);
    expect(t.llm.requests[0]!.temperature).toBe(0.7);
    expect(t.llm.authorizations[0]).toBe(`Bearer ${TEST_API_KEY}`);
    // Validator saw the user's message and DataCollector's reply.
    expect(t.llm.requests[1]!.messages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ role: 'user', content: 'I want to onboard a new customer' }),
        expect.objectContaining({
          role: 'user',
          name: 'DataCollector',
          content: "Hello! What is the customer's name and email?",
        }),
      ]),
    );
    await client.close();
  });

  it("accepts the guide frontend's message, whose chat_id is undefined, as the token's chat", async () => {
    t.llm.setFallback({ content: 'ok', usage: { prompt_tokens: 5, completion_tokens: 1 } });
    const client = await WsTestClient.connect(t.wsUrl(await issueToken()));
    // The guide's React code sends `chat_id: token.chat_id` on a string token: JSON drops it.
    client.send(
      JSON.stringify({ type: 'user_message', content: 'Start onboarding', chat_id: undefined, user_id: 'user_123' }),
    );
    const usage = await client.waitForType('usage_update');
    expect(usage.chat_id).toBe('chat_789');
    await client.close();
  });

  it("keeps the chat's history across connections and shows it to the agents", async () => {
    t.llm.setFallback({ content: 'noted', usage: { prompt_tokens: 10, completion_tokens: 2 } });
    const first = await WsTestClient.connect(t.wsUrl(await issueToken()));
    await first.exchange('My name is Ada.');
    await first.close();
    const second = await WsTestClient.connect(t.wsUrl(await issueToken()));
    const events = await second.exchange('What is my name?');
    expect(events.map((e) => e.seq)).toEqual([7, 8, 9, 10, 11, 12]);
    const lastRequest = t.llm.requests.at(-1)!;
    expect(lastRequest.messages.filter((m) => m.role === 'user' && !m.name).map((m) => m.content)).toEqual([
      'My name is Ada.',
      'What is my name?',
    ]);
    await second.close();
  });

  it('publishes each usage_update once on the billing subject mozaiks.usage.<app_id>.<user_id>', async () => {
    const billed: Array<{ subject: string; data: Record<string, unknown> }> = [];
    t.runtime.bus.subscribe<Record<string, unknown>>(
      'mozaiks.usage.>',
      (m) => void billed.push({ subject: m.subject, data: m.data }),
    );
    t.llm.setFallback({ content: 'ok', usage: { prompt_tokens: 100, completion_tokens: 10 } });
    const client = await WsTestClient.connect(t.wsUrl(await issueToken()));
    const first = (await client.exchange('one')).at(-1)!;
    const second = (await client.exchange('two')).at(-1)!;
    await new Promise((r) => setTimeout(r, 50));
    expect(billed.map((b) => b.subject)).toEqual(['mozaiks.usage.app_456.user_123', 'mozaiks.usage.app_456.user_123']);
    expect(billed.map((b) => b.data)).toEqual([first, second]);
    expect(first.event_id).not.toBe(second.event_id);
    await client.close();
  });

  it('reports an LLM failure as an error event, completes the run as failed, and keeps serving', async () => {
    t.llm.push({ error: { status: 401, message: 'Incorrect API key provided' } });
    const client = await WsTestClient.connect(t.wsUrl(await issueToken()));
    const events = await client.exchange('hello');
    expect(events.map((e) => e.type)).toEqual(['error', 'workflow_complete', 'usage_update']);
    expect(events[0]).toMatchObject({ code: 'llm_error', retryable: false });
    expect(String(events[0]!.message)).toContain('HTTP 401');
    expect(events[1]).toMatchObject({ status: 'failed', reason: 'error' });

    t.llm.setFallback({ content: 'back', usage: { prompt_tokens: 1, completion_tokens: 1 } });
    const again = await client.exchange('hello again');
    expect(again.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual(['back', 'back']);
    await client.close();
  });
});
