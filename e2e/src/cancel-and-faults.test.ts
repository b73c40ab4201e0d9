// A client that cancels, double-texts, and an LLM endpoint that cuts streams and forgets usage:
// on the standalone runtime through real sockets and a real HTTP endpoint.
import { WsTestClient, mintToken } from '@mozaiks/testing';
import type { TestEvent } from '@mozaiks/testing';
import { startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

const hello = () =>
  mintToken({ claims: { workflow_id: 'hello', chat_id: `chat_${Math.random().toString(36).slice(2, 10)}` } });
const slowly = (content: string) => ({
  content,
  usage: { prompt_tokens: 10, completion_tokens: 10 },
  piece_delay_ms: 150,
});

function ofRun(events: TestEvent[], runId: unknown): TestEvent[] {
  return events.filter((e) => e.run_id === runId);
}

describe('cancel', () => {
  let t: TestRuntime;
  beforeAll(async () => (t = await startTestRuntime()));
  afterAll(async () => t.stop());

  it('stops the run going within a second: workflow_complete cancelled, then usage for what was used', async () => {
    t.llm.push(slowly('one two three four five six seven eight nine ten eleven twelve'));
    const client = await WsTestClient.connect(t.wsUrl(await hello()));
    client.send({ type: 'user_message', content: 'count to twelve, slowly' });
    await client.waitForDeltas(2);
    const asked = performance.now();
    client.send({ type: 'cancel' });
    const complete = await client.waitForType('workflow_complete');
    expect(performance.now() - asked).toBeLessThan(1000);
    expect(complete).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    const usage = await client.waitForType('usage_update');
    expect(usage).toMatchObject({ run_id: complete.run_id, estimated: true });
    expect(Number(usage.total_tokens)).toBeGreaterThan(0);
    // The stopped reply was never committed as a reply; the call it made is billed (usage_delta).
    expect(ofRun(client.events, complete.run_id).map((e) => e.type)).toEqual([
      'usage_delta',
      'workflow_complete',
      'usage_update',
    ]);
    await client.close();
  });

  it('says no_active_run with nothing going, or for a run that is not the one going', async () => {
    const client = await WsTestClient.connect(t.wsUrl(await hello()));
    client.send({ type: 'cancel' });
    expect(await client.waitForType('error')).toMatchObject({ code: 'no_active_run', retryable: false });
    t.llm.push(slowly('a b c d e f g h'));
    client.send({ type: 'user_message', content: 'go' });
    await client.waitForDeltas(1);
    client.send({ type: 'cancel', run_id: 'run_not_this_one' });
    await client.waitFor((e) => e.type === 'error' && String(e.message).includes('run_not_this_one'));
    // The run went on to its end.
    expect(await client.waitForType('workflow_complete')).toMatchObject({ status: 'completed' });
    await client.close();
  });

  it('lets the messages queued behind a cancelled run run after it', async () => {
    t.llm.push(slowly('first reply that is long enough to be cancelled in the middle'), {
      content: 'second reply',
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    });
    const client = await WsTestClient.connect(t.wsUrl(await hello()));
    client.send({ type: 'user_message', content: 'one' });
    client.send({ type: 'user_message', content: 'two' });
    await client.waitForDeltas(1);
    client.send({ type: 'cancel' });
    await client.waitFor((e) => e.type === 'agent_message' && e.content === 'second reply');
    const completes = client.events.filter((e) => e.type === 'workflow_complete').map((e) => e.status);
    expect(completes).toEqual(['cancelled', 'completed']);
    await client.close();
  });
});

describe('a flood of messages', () => {
  it('runs 40 messages sent at once to one chat, in order, without leaking abort listeners', async () => {
    const t = await startTestRuntime();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      t.llm.setFallback((body) => ({
        content: `re: ${String(body.messages.filter((m) => m.role === 'user').at(-1)?.content)}`,
        usage: { prompt_tokens: 1, completion_tokens: 1 },
      }));
      const client = await WsTestClient.connect(t.wsUrl(await hello()));
      for (let i = 0; i < 40; i++) client.send({ type: 'user_message', content: `m${i}` });
      await client.waitFor(() => client.events.filter((e) => e.type === 'usage_update').length === 40, {
        timeoutMs: 30_000,
      });
      expect(client.events.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual(
        Array.from({ length: 40 }, (_, i) => `re: m${i}`),
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      await client.close();
    } finally {
      process.off('warning', onWarning);
      await t.stop();
    }
  });
});

describe('DOUBLE_TEXTING', () => {
  it('reject: a message while the run goes gets run_in_progress, and runs nothing', async () => {
    const t = await startTestRuntime({ env: { DOUBLE_TEXTING: 'reject' } });
    try {
      t.llm.push(slowly('a slow reply of several words'));
      const client = await WsTestClient.connect(t.wsUrl(await hello()));
      client.send({ type: 'user_message', content: 'first' });
      await client.waitForDeltas(1);
      client.send({ type: 'user_message', content: 'second' });
      expect(await client.waitForType('error')).toMatchObject({ code: 'run_in_progress', retryable: true });
      await client.waitForType('usage_update');
      expect(t.llm.requests).toHaveLength(1);
      // Once the run has ended, the next message is taken.
      t.llm.setFallback({ content: 'later', usage: { prompt_tokens: 1, completion_tokens: 1 } });
      expect((await client.exchange('third')).find((e) => e.type === 'agent_message')).toMatchObject({
        content: 'later',
      });
      await client.close();
    } finally {
      await t.stop();
    }
  });

  it('interrupt: a message while the run goes cancels it and runs', async () => {
    const t = await startTestRuntime({ env: { DOUBLE_TEXTING: 'interrupt' } });
    try {
      t.llm.push(slowly('a slow reply that will not be finished'), {
        content: 'answer to the second',
        usage: { prompt_tokens: 1, completion_tokens: 1 },
      });
      const client = await WsTestClient.connect(t.wsUrl(await hello()));
      client.send({ type: 'user_message', content: 'first' });
      await client.waitForDeltas(1);
      client.send({ type: 'user_message', content: 'second' });
      await client.waitFor((e) => e.type === 'agent_message' && e.content === 'answer to the second');
      expect(client.events.filter((e) => e.type === 'workflow_complete').map((e) => e.status)).toEqual([
        'cancelled',
        'completed',
      ]);
      await client.close();
    } finally {
      await t.stop();
    }
  });
});

describe('LLM faults', () => {
  let t: TestRuntime;
  beforeAll(async () => (t = await startTestRuntime({ env: { LLM_MAX_RETRIES: '1' } })));
  afterAll(async () => t.stop());

  it('retries a cut stream and never shows its half as the reply; logs the retry with the chat', async () => {
    t.llm.push(
      { content: 'half of a rep', cut: 'end' },
      { content: 'The whole reply.', usage: { prompt_tokens: 3, completion_tokens: 4 } },
    );
    const client = await WsTestClient.connect(t.wsUrl(await hello()));
    const events = await client.exchange('hi');
    expect(events.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual(['The whole reply.']);
    const retry = t.logs().find((l) => l.message === 'LLM call failed; retrying');
    expect(retry).toMatchObject({
      level: 'WARN',
      attempt: 1,
      model: expect.any(String),
      chat_id: client.events[0]!.chat_id,
      run_id: expect.any(String),
    });
    await client.close();
  });

  it('fails the run with llm_error when every try is cut, logging it as an error', async () => {
    t.llm.push({ content: 'cut', cut: 'reset' }, { content: 'cut again', cut: 'reset' });
    const client = await WsTestClient.connect(t.wsUrl(await hello()));
    const events = await client.exchange('hi');
    expect(events.map((e) => e.type)).toEqual(['error', 'workflow_complete', 'usage_update']);
    expect(events[0]).toMatchObject({ code: 'llm_error' });
    expect(t.logs().some((l) => l.message === 'LLM call failed; giving up' && l.level === 'ERROR')).toBe(true);
    expect(t.rawLogs()).not.toContain('sk-test-do-not-log');
    await client.close();
  });

  it('counts the tokens itself when the endpoint reports no usage, and marks the usage estimated', async () => {
    t.llm.push({ content: 'An answer without any usage report.' });
    const client = await WsTestClient.connect(t.wsUrl(await hello()));
    const usage = (await client.exchange('what is two and two?')).at(-1)!;
    expect(usage).toMatchObject({ type: 'usage_update', estimated: true });
    expect((usage.tokens as { completion_tokens: number }).completion_tokens).toBeGreaterThan(4);
    expect((usage.tokens as { prompt_tokens: number }).prompt_tokens).toBeGreaterThan(10);
    expect(Number(usage.cost_usd)).toBeGreaterThan(0);
    await client.close();
  });
});
