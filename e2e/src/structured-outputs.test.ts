// Structured outputs through the runtime: the schema goes to the model as its response format, and
// the client gets the checked object on the agent_message.
import { WsTestClient, mintToken } from '@mozaiks/testing';
import { FIXTURE_WORKFLOWS, startTestRuntime } from './harness';

describe('structured outputs', () => {
  it('sends the schema as response_format and puts the parsed reply on agent_message', async () => {
    const t = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS });
    try {
      t.llm.push({
        content: '{"complete": false, "missing": ["email"]}',
        usage: { prompt_tokens: 9, completion_tokens: 9 },
      });
      const client = await WsTestClient.connect(
        t.wsUrl(await mintToken({ claims: { workflow_id: 'reviewer', chat_id: 'chat_review' } })),
      );
      const events = await client.exchange('Review customer 42');
      expect(events[0]).toMatchObject({
        type: 'agent_message',
        agent: 'Reviewer',
        structured: { complete: false, missing: ['email'] },
      });
      expect(t.llm.requests[0]!.response_format).toMatchObject({
        type: 'json_schema',
        json_schema: { name: 'review', schema: { required: ['complete', 'missing'] } },
      });
      await client.close();
    } finally {
      await t.stop();
    }
  });
});
