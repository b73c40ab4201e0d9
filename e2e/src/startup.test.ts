// Startup modes: an agent-driven workflow speaks first when its chat is opened; a user-driven one
// waits for the user.
import { WsTestClient, mintToken } from '@mozaiks/testing';
import { FIXTURE_WORKFLOWS, startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

describe('startup modes', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS });
  });
  afterAll(async () => t.stop());

  it('AgentDriven: the initial agent greets a new chat before the user says anything, once', async () => {
    t.llm.push({ content: 'Welcome! What is your name?', usage: { prompt_tokens: 12, completion_tokens: 6 } });
    const token = await mintToken({ claims: { workflow_id: 'greeter', chat_id: 'chat_greet' } });
    const client = await WsTestClient.connect(t.wsUrl(token));
    await client.waitForType('usage_update');
    expect(client.events.map((e) => e.type)).toEqual([
      'agent_message',
      'usage_delta',
      'workflow_complete',
      'usage_update',
    ]);
    expect(client.events[0]).toMatchObject({ agent: 'Host', content: 'Welcome! What is your name?', seq: 1 });
    expect(t.llm.requests[0]!.messages.at(-1)).toEqual({
      role: 'user',
      content: 'Greet the user and ask for their name.',
    });
    await client.close();

    // Coming back to the chat does not greet again; the conversation goes on from the greeting.
    const again = await WsTestClient.connect(t.wsUrl(token));
    t.llm.push({ content: 'Nice to meet you, Ada.', usage: { prompt_tokens: 20, completion_tokens: 6 } });
    const events = await again.exchange('I am Ada');
    expect(events.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual(['Nice to meet you, Ada.']);
    expect(t.llm.requests).toHaveLength(2);
    expect(t.llm.requests[1]!.messages.slice(1).map((m) => m.content)).toEqual([
      'Greet the user and ask for their name.',
      'Welcome! What is your name?',
      'I am Ada',
    ]);
    await again.close();
  });

  it('UserDriven: opening a chat runs nothing', async () => {
    const before = t.llm.requests.length;
    const client = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { workflow_id: 'tool_kit', chat_id: 'chat_quiet' } })),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(client.events).toEqual([]);
    expect(t.llm.requests.length).toBe(before);
    await client.close();
  });
});
