// Handoffs through the running runtime: a context variable seeded from the launch token routes the
// conversation, and a `user` target hands the chat back to the user.
import { WsTestClient, mintToken } from '@mozaiks/testing';
import { FIXTURE_WORKFLOWS, startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

describe('handoffs', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS });
    t.llm.setFallback((req) => ({ content: `${String(req.messages[0]!.content).split(' ')[2]} answering`, usage: { prompt_tokens: 5, completion_tokens: 2 } }));
  });
  afterAll(async () => t.stop());

  it.each([
    ['free', 'regular'],
    ['enterprise', 'premium'],
  ])('routes a %s customer to the %s agent, then waits for the user', async (plan, who) => {
    const client = await WsTestClient.connect(t.wsUrl(await mintToken({ claims: { workflow_id: 'routed', chat_id: `chat_${plan}`, plan } })));
    const events = await client.exchange('I need help');
    expect(events.filter((e) => e.type === 'agent_message').map((e) => e.agent)).toEqual(['Triage', who === 'premium' ? 'Concierge' : 'Standard']);
    expect(events.find((e) => e.type === 'workflow_complete')).toMatchObject({ status: 'completed', reason: 'awaiting_user', turns: 2 });
    await client.close();
  });
});
