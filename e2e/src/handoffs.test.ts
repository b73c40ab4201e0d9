// Handoffs through the running runtime: a context variable seeded from the launch token routes the
// conversation, a `user` target hands the chat back to the user, and rules from `user` route the
// user's later messages (never the opening one).
import { WsTestClient, mintToken } from '@mozaiks/testing';
import { FIXTURE_WORKFLOWS, startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

describe('handoffs', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS });
    t.llm.setFallback((req) => ({
      content: `${String(req.messages[0]!.content).split(' ')[2]} answering`,
      usage: { prompt_tokens: 5, completion_tokens: 2 },
    }));
  });
  afterAll(async () => t.stop());

  it.each([
    ['free', 'regular'],
    ['enterprise', 'premium'],
  ])('routes a %s customer to the %s agent, then waits for the user', async (plan, who) => {
    const client = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { workflow_id: 'routed', chat_id: `chat_${plan}`, plan } })),
    );
    const events = await client.exchange('I need help');
    expect(events.filter((e) => e.type === 'agent_message').map((e) => e.agent)).toEqual([
      'Triage',
      who === 'premium' ? 'Concierge' : 'Standard',
    ]);
    expect(events.find((e) => e.type === 'workflow_complete')).toMatchObject({
      status: 'completed',
      reason: 'awaiting_user',
      turns: 2,
    });
    await client.close();
  });

  it('gives the opening message to the initial agent; rules from user route the answer to its input request', async () => {
    const client = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { workflow_id: 'refund_desk', chat_id: 'chat_refund' } })),
    );
    const opening = await client.exchange('draft a refund for order 77');
    expect(opening.filter((e) => e.type === 'agent_message').map((e) => e.agent)).toEqual(['Intake']);
    const request = opening.find((e) => e.type === 'input_request');
    expect(request).toMatchObject({ agent: 'Intake', prompt: 'details answering' });
    expect(opening.find((e) => e.type === 'workflow_complete')).toMatchObject({ reason: 'awaiting_input' });
    const from = client.events.length;
    client.send({ type: 'user_input', request_id: request!.request_id, content: 'the card ending 4242' });
    await client.waitForType('workflow_complete', { from });
    const answered = client.events.slice(from);
    expect(answered.filter((e) => e.type === 'agent_message').map((e) => e.agent)).toEqual(['Closer']);
    expect(answered.find((e) => e.type === 'workflow_complete')).toMatchObject({
      status: 'completed',
      reason: 'terminated',
    });
    await client.close();
  });
});
