// Human in the loop: a run parks on an input_request; the whole runtime stops and starts again;
// the answer, sent on a new connection, continues the chat where it stopped.
import { WsTestClient, makeTempDir, mintToken, mongoTestServerAvailable, startMongoTestServer } from '@mozaiks/testing';
import type { MongoTestServer } from '@mozaiks/testing';
import { FIXTURE_WORKFLOWS, startTestRuntime } from './harness';

const stores = mongoTestServerAvailable() ? (['sqlite', 'mongodb'] as const) : (['sqlite'] as const);

describe.each(stores)('human in the loop (%s)', (store) => {
  let mongo: MongoTestServer | undefined;
  beforeAll(async () => {
    if (store === 'mongodb') mongo = await startMongoTestServer();
  }, 30_000);
  afterAll(async () => mongo?.dispose());

  it('parks on input_request, survives a restart of the runtime, and continues with the answer', async () => {
    const data = makeTempDir('mozaiks-hitl-');
    const token = await mintToken({ claims: { workflow_id: 'intake', chat_id: 'chat_hitl', tier: 'gold' } });
    try {
      const first = await startTestRuntime({
        workflowsDir: FIXTURE_WORKFLOWS,
        dataDir: data,
        ...(mongo ? { mongo } : {}),
      });
      first.llm.push(
        {
          tool_calls: [{ name: 'remember', arguments: '{"tier": "platinum"}' }],
          usage: { prompt_tokens: 10, completion_tokens: 6 },
        },
        { content: 'What is your email address?', usage: { prompt_tokens: 10, completion_tokens: 6 } },
      );
      const client = await WsTestClient.connect(first.wsUrl(token));
      const events = await client.exchange('I want to sign up');
      expect(events.map((e) => e.type)).toEqual([
        'tool_call',
        'usage_delta',
        'tool_result',
        'agent_message',
        'usage_delta',
        'input_request',
        'workflow_complete',
        'usage_update',
      ]);
      const request = events[5]!;
      expect(request).toMatchObject({
        agent: 'Collector',
        prompt: 'What is your email address?',
        request_id: expect.any(String),
      });
      expect(events[6]).toMatchObject({ reason: 'awaiting_input', status: 'completed' });
      // The agent was offered its tool and its handoff; the token's claim seeded the variable.
      expect(first.llm.requests[0]!.tools?.map((t) => t.function.name)).toEqual(['remember', 'handoff_to_Reviewer']);
      expect(String(first.llm.requests[0]!.messages[0]!.content)).toContain(
        'Context variables (JSON): {"tier":"gold"}',
      );
      await client.close();
      await first.stop();

      const second = await startTestRuntime({
        workflowsDir: FIXTURE_WORKFLOWS,
        dataDir: data,
        ...(mongo ? { mongo } : {}),
      });
      try {
        second.llm.push(
          {
            tool_calls: [{ id: 'h1', name: 'handoff_to_Reviewer', arguments: '{}' }],
            content: 'Thanks, that is everything.',
            usage: { prompt_tokens: 20, completion_tokens: 8 },
          },
          { content: 'All details look right.', usage: { prompt_tokens: 30, completion_tokens: 5 } },
        );
        const back = await WsTestClient.connect(second.wsUrl(token));
        back.send({ type: 'user_input', request_id: 'not-the-request', content: 'hm' });
        expect(await back.waitForType('error')).toMatchObject({ code: 'no_such_input_request' });
        const answer = back.events.length;
        back.send({ type: 'user_input', request_id: request.request_id, content: 'ada@example.com' });
        await back.waitForType('usage_update', { from: answer });
        const after = back.events.slice(answer);
        expect(after.filter((e) => e.type === 'agent_message').map((e) => [e.agent, e.content])).toEqual([
          ['Collector', 'Thanks, that is everything.'],
          ['Reviewer', 'All details look right.'],
        ]);
        expect(after.find((e) => e.type === 'workflow_complete')).toMatchObject({ reason: 'terminated' });
        // The asking agent saw its question and the answer, and the variable as the tool left it:
        // the chat went on where it stopped, with its context variables.
        expect(String(second.llm.requests[0]!.messages[0]!.content)).toContain(
          'Context variables (JSON): {"tier":"platinum"}',
        );
        const contents = second.llm.requests[0]!.messages.map((m) => m.content);
        expect(contents.slice(-2)).toEqual(['What is your email address?', 'ada@example.com']);
        // The same request cannot be answered twice.
        back.send({ type: 'user_input', request_id: request.request_id, content: 'again' });
        await back.waitFor((e) => e.type === 'error' && e.code === 'no_such_input_request', { from: answer });
        await back.close();
      } finally {
        await second.stop();
      }
    } finally {
      data.remove();
    }
  });
});

describe('ManualPattern', () => {
  it('lets the user pick who speaks next by answering the input_request with a name', async () => {
    const t = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS });
    try {
      t.llm.push(
        { content: 'It will go well.', usage: { prompt_tokens: 5, completion_tokens: 4 } },
        { content: 'It might not.', usage: { prompt_tokens: 8, completion_tokens: 4 } },
      );
      const client = await WsTestClient.connect(
        t.wsUrl(await mintToken({ claims: { workflow_id: 'panel', chat_id: 'chat_panel' } })),
      );
      const events = await client.exchange('Should we launch?');
      const request = events.find((e) => e.type === 'input_request')!;
      expect(request).toMatchObject({ agent: 'Optimist', options: ['Optimist', 'Skeptic'] });
      const from = client.events.length;
      client.send({ type: 'user_input', request_id: request.request_id, content: 'Skeptic' });
      await client.waitForType('usage_update', { from });
      expect(
        client.events
          .slice(from)
          .filter((e) => e.type === 'agent_message')
          .map((e) => [e.agent, e.content]),
      ).toEqual([['Skeptic', 'It might not.']]);
      // Choosing is not saying: the Skeptic saw the question, not the word "Skeptic".
      expect(t.llm.requests[1]!.messages.filter((m) => m.role === 'user' && !m.name).map((m) => m.content)).toEqual([
        'Should we launch?',
      ]);
      await client.close();
    } finally {
      await t.stop();
    }
  });
});
