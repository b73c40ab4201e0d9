// Each orchestration pattern through the running runtime: who speaks, in what order, and why the
// run ends.
import { WsTestClient, mintToken } from '@mozaiks/testing';
import type { CompletionRequestBody } from '@mozaiks/llm';
import { FIXTURE_WORKFLOWS, startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

/** Agents answer with their name; the speaker selector follows a script. */
function replies(selections: string[]) {
  return (req: CompletionRequestBody) => {
    const system = String(req.messages[0]!.content);
    if (system.startsWith('You choose who speaks next'))
      return { content: selections.shift() ?? 'TERMINATE', usage: { prompt_tokens: 3, completion_tokens: 1 } };
    return {
      content: `${system.split(' ')[2]!.replace('.', '')} done`,
      usage: { prompt_tokens: 5, completion_tokens: 2 },
    };
  };
}

describe('orchestration patterns end to end', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS });
  });
  afterAll(async () => t.stop());

  async function run(
    workflowId: string,
  ): Promise<{ speakers: unknown[]; complete: Record<string, unknown>; usage: Record<string, unknown> }> {
    const client = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { workflow_id: workflowId, chat_id: `chat_${workflowId}` } })),
    );
    const events = await client.exchange('Ship the feature');
    await client.close();
    return {
      speakers: events.filter((e) => e.type === 'agent_message').map((e) => e.agent),
      complete: events.find((e) => e.type === 'workflow_complete')!,
      usage: events.find((e) => e.type === 'usage_update')!,
    };
  }

  it('RoundRobinPattern: in turn until max_turns', async () => {
    t.llm.setFallback(replies([]));
    const { speakers, complete } = await run('roundrobinpattern');
    expect(speakers).toEqual(['Planner', 'Builder', 'Tester', 'Planner']);
    expect(complete).toMatchObject({ reason: 'max_turns', turns: 4 });
  });

  it('RandomPattern: never the same agent twice in a row, until max_turns', async () => {
    t.llm.setFallback(replies([]));
    const { speakers, complete } = await run('randompattern');
    expect(speakers).toHaveLength(4);
    speakers.slice(1).forEach((s, i) => expect(s).not.toBe(speakers[i]));
    expect(complete).toMatchObject({ reason: 'max_turns' });
  });

  it('AutoPattern: the model picks each next speaker, and its calls are billed', async () => {
    t.llm.setFallback(replies(['Tester', 'Builder', 'TERMINATE']));
    const { speakers, complete, usage } = await run('autopattern');
    expect(speakers).toEqual(['Planner', 'Tester', 'Builder']);
    expect(complete).toMatchObject({ reason: 'terminated', turns: 3 });
    expect((usage.models as Array<{ calls: number }>).reduce((n, m) => n + m.calls, 0)).toBe(6);
  });
});
