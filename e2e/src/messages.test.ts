// What the runtime does with each client message: refuses what does not match the token or the
// protocol with an error event (running nothing), and keeps tenants' chats apart.
import { WsTestClient, mintToken } from '@mozaiks/testing';
import { FIXTURE_WORKFLOWS, SHIPPED_WORKFLOWS, startTestRuntime } from './harness';
import type { TestRuntime } from './harness';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir } from '@mozaiks/testing';

describe('client messages', () => {
  let t: TestRuntime;
  const workflows = makeTempDir('mozaiks-workflows-');
  beforeAll(async () => {
    cpSync(SHIPPED_WORKFLOWS, workflows.path, { recursive: true });
    cpSync(path.join(FIXTURE_WORKFLOWS, 'broken'), path.join(workflows.path, 'broken'), { recursive: true });
    t = await startTestRuntime({ workflowsDir: workflows.path, env: { MAX_MESSAGE_BYTES: '4096' } });
  });
  afterAll(async () => {
    await t.stop();
    workflows.remove();
  });
  beforeEach(() => t.llm.setFallback({ content: 'reply', usage: { prompt_tokens: 3, completion_tokens: 1 } }));

  it('refuses a message whose chat_id or user_id differs from the token, and runs nothing', async () => {
    const client = await WsTestClient.connect(t.wsUrl(await mintToken()));
    const before = t.llm.requests.length;
    client.send({ type: 'user_message', content: 'hi', chat_id: 'chat_other', user_id: 'user_123' });
    const chatError = await client.waitForType('error');
    expect(chatError).toMatchObject({ code: 'identity_mismatch', chat_id: 'chat_789', retryable: false });
    expect(chatError.message).toContain('chat_other');
    client.send({ type: 'user_message', content: 'hi', chat_id: 'chat_789', user_id: 'user_999' });
    const userError = await client.waitFor((e) => e.type === 'error' && String(e.message).includes('user_999'));
    expect(userError.code).toBe('identity_mismatch');
    await new Promise((r) => setTimeout(r, 100));
    expect(t.llm.requests.length).toBe(before);
    expect(client.events.every((e) => e.type === 'error' && e.seq === undefined)).toBe(true);
    expect(await t.runtime.stores.log.listEvents({ app_id: 'app_456', user_id: 'user_123' }, 'chat_789')).toEqual([]);
    await client.close();
  });

  it('names an unknown workflow in an error event', async () => {
    const client = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { workflow_id: 'no_such_flow', chat_id: 'chat_unknown' } })),
    );
    client.send({ type: 'user_message', content: 'hi' });
    const error = await client.waitForType('error');
    expect(error).toMatchObject({ code: 'workflow_not_found', chat_id: 'chat_unknown', seq: 1 });
    expect(error.message).toContain('"no_such_flow"');
    // The message ends as every message does, so a client waiting for its end is not left waiting.
    await client.waitForType('usage_update');
    expect(client.events.map((e) => e.type)).toEqual(['error', 'workflow_complete', 'usage_update']);
    expect(client.events[1]).toMatchObject({ status: 'failed', reason: 'error', turns: 0 });
    expect(client.events[2]).toMatchObject({ total_tokens: 0, cost_usd: 0 });
    await client.close();
  });

  it('names the file and field of a broken workflow', async () => {
    const client = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { workflow_id: 'broken', chat_id: 'chat_broken' } })),
    );
    client.send({ type: 'user_message', content: 'hi' });
    const error = await client.waitForType('error');
    expect(error.code).toBe('workflow_invalid');
    expect(error.message).toContain('broken/orchestrator.yaml:2:12: max_turns');
    expect(error.message).toContain('broken/agents.yaml:2:5: agents.0.system_message');
    await client.close();
  });

  it.each([
    ['not JSON', '{"type": "user_message",', 'invalid_message', /not valid JSON/],
    ['an array', '[1, 2]', 'invalid_message', /JSON object/],
    ['no type', '{"content": "hi"}', 'invalid_message', /"type"/],
    ['an unknown type', '{"type": "launch_missiles"}', 'unknown_message_type', /launch_missiles/],
    ['empty content', '{"type": "user_message", "content": ""}', 'invalid_message', /content/],
    ['an unknown field', '{"type": "user_message", "content": "hi", "colour": "red"}', 'invalid_message', /colour/],
  ])('answers %s with an error event and keeps the socket open', async (_name, frame, code, message) => {
    const client = await WsTestClient.connect(t.wsUrl(await mintToken({ claims: { chat_id: 'chat_bad_frames' } })));
    client.send(frame);
    const error = await client.waitForType('error');
    expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
    // Still usable.
    const events = await client.exchange('a good message after a bad one');
    expect(events.filter((e) => e.type === 'agent_message')).toHaveLength(2);
    await client.close();
  });

  it('closes with 1009 on a frame over MAX_MESSAGE_BYTES', async () => {
    const client = await WsTestClient.connect(t.wsUrl(await mintToken({ claims: { chat_id: 'chat_big' } })));
    client.send({ type: 'user_message', content: 'x'.repeat(10_000) });
    expect(await client.closed()).toBe(1009);
  });

  it('gives each (app_id, user_id) its own chat under the same chat_id', async () => {
    const ada = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { chat_id: 'chat_shared', user_id: 'ada' } })),
    );
    t.llm.setFallback((req) => ({
      content: `seen ${req.messages.filter((m) => m.role === 'user' && !m.name).length}`,
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    }));
    await ada.exchange('my secret is 42');
    const adaSaw = ada.events.length;
    const mallory = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { chat_id: 'chat_shared', user_id: 'mallory' } })),
    );
    const sameUserOtherApp = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { chat_id: 'chat_shared', user_id: 'ada', app_id: 'other_app' } })),
    );
    const seenBefore = t.llm.requests.length;
    const malloryEvents = await mallory.exchange('what is the secret?');
    // Mallory's run never carries Ada's history...
    for (const request of t.llm.requests.slice(seenBefore)) {
      expect(JSON.stringify(request.messages)).not.toContain('my secret is 42');
    }
    // ...its events start a history of their own...
    expect(malloryEvents.map((e) => e.seq)).toEqual(malloryEvents.map((_, i) => i + 1));
    // ...and neither Ada nor the other app's socket saw any of Mallory's events, nor Mallory Ada's.
    expect(ada.events).toHaveLength(adaSaw);
    expect(sameUserOtherApp.events).toHaveLength(0);
    expect(mallory.events.some((e) => String(e.content ?? '').includes('42'))).toBe(false);
    const otherAppEvents = await sameUserOtherApp.exchange('hello');
    expect(otherAppEvents.map((e) => e.seq)).toEqual(otherAppEvents.map((_, i) => i + 1));
    expect(ada.events).toHaveLength(adaSaw);
    await Promise.all([ada.close(), mallory.close(), sameUserOtherApp.close()]);
  });

  it('runs two messages sent at once one after the other, in order', async () => {
    t.llm.setFallback((req) => ({
      content: `re: ${String(req.messages.filter((m) => m.role === 'user' && !m.name).at(-1)?.content)}`,
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    }));
    const client = await WsTestClient.connect(t.wsUrl(await mintToken({ claims: { chat_id: 'chat_queue' } })));
    client.send({ type: 'user_message', content: 'first' });
    client.send({ type: 'user_message', content: 'second' });
    await client.waitFor(
      (e) => e.type === 'usage_update' && client.events.filter((x) => x.type === 'usage_update').length === 2,
    );
    expect(client.events.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual([
      're: first',
      're: first',
      're: second',
      're: second',
    ]);
    await client.close();
  });
});
