// The ChatStore contract: what every adapter must do. Run it against an adapter with `chatStoreContract`.
import type { ServerEvent } from '@mozaiks/protocol';
import type { ChatStore, NewEvent } from './chat-store';
import { ChatNotFoundError } from './chat-store';

export interface ChatStoreFactory {
  create(): Promise<ChatStore>;
  /** A new store on the same data, as after a restart; omit if the adapter keeps nothing. */
  reopen?(): Promise<ChatStore>;
}

const ada = { app_id: 'app_1', user_id: 'ada' };
const bob = { app_id: 'app_1', user_id: 'bob' };
const adaElsewhere = { app_id: 'app_2', user_id: 'ada' };

function event(id: string, content = id): NewEvent {
  return { type: 'agent_message', chat_id: 'c1', event_id: id, timestamp: new Date().toISOString(), run_id: 'r1', agent: 'A', content } as NewEvent;
}

export function chatStoreContract(name: string, factory: ChatStoreFactory): void {
  describe(`ChatStore contract: ${name}`, () => {
    let store: ChatStore;
    beforeEach(async () => {
      store = await factory.create();
    });
    afterEach(async () => store.close());

    it('creates a chat once, for the workflow it was first used with', async () => {
      const first = await store.ensureChat(ada, 'c1', 'wf_a');
      const again = await store.ensureChat(ada, 'c1', 'wf_b');
      expect(first).toMatchObject({ app_id: 'app_1', user_id: 'ada', chat_id: 'c1', workflow_id: 'wf_a', last_seq: 0 });
      expect(again.workflow_id).toBe('wf_a');
    });

    it('keeps messages in order', async () => {
      await store.ensureChat(ada, 'c1', 'wf');
      await store.commit(ada, 'c1', { messages: [{ role: 'user', content: 'one' }] });
      await store.commit(ada, 'c1', { messages: [{ role: 'assistant', content: 'two' }, { role: 'user', content: 'three' }] });
      expect((await store.listMessages(ada, 'c1')).map((m) => m.content)).toEqual(['one', 'two', 'three']);
    });

    it('numbers events 1, 2, 3… per chat and lists them after a seq', async () => {
      await store.ensureChat(ada, 'c1', 'wf');
      await store.ensureChat(ada, 'c2', 'wf');
      const stored: ServerEvent[] = [];
      for (const id of ['e1', 'e2', 'e3']) stored.push(await store.appendEvent(ada, 'c1', event(id)));
      const other = await store.appendEvent(ada, 'c2', { ...event('e4'), chat_id: 'c2' } as NewEvent);
      expect(stored.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(other.seq).toBe(1);
      expect((await store.listEvents(ada, 'c1', 1)).map((e) => e.event_id)).toEqual(['e2', 'e3']);
      expect((await store.getChat(ada, 'c1'))!.last_seq).toBe(3);
    });

    it('appends an event at most once per event_id', async () => {
      await store.ensureChat(ada, 'c1', 'wf');
      const first = await store.appendEvent(ada, 'c1', event('same', 'original'));
      const again = await store.appendEvent(ada, 'c1', event('same', 'changed'));
      expect(again).toEqual(first);
      expect(await store.listEvents(ada, 'c1')).toHaveLength(1);
    });

    it('keeps tenants apart under the same chat_id', async () => {
      await store.ensureChat(ada, 'c1', 'wf');
      await store.commit(ada, 'c1', { messages: [{ role: 'user', content: 'ada secret' }] });
      await store.appendEvent(ada, 'c1', event('e1'));
      expect(await store.getChat(bob, 'c1')).toBeUndefined();
      expect(await store.listMessages(bob, 'c1')).toEqual([]);
      expect(await store.listEvents(adaElsewhere, 'c1')).toEqual([]);
      await expect(store.commit(bob, 'c1', { messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(ChatNotFoundError);
      await expect(store.appendEvent(adaElsewhere, 'c1', event('e2'))).rejects.toBeInstanceOf(ChatNotFoundError);
      await store.ensureChat(bob, 'c1', 'wf');
      expect(await store.listMessages(bob, 'c1')).toEqual([]);
      expect((await store.appendEvent(bob, 'c1', event('e3'))).seq).toBe(1);
    });

    it('queues inputs in order per chat, idempotently, and hands out the oldest unfinished one', async () => {
      const input = (id: string) => ({ request_id: id, workflow_id: 'wf', content: id, context: { plan: 'pro' }, received_at: new Date().toISOString() });
      expect((await store.enqueueInput(ada, 'c1', input('r1'))).input_seq).toBe(1);
      expect((await store.enqueueInput(ada, 'c1', input('r2'))).input_seq).toBe(2);
      expect((await store.enqueueInput(ada, 'c1', input('r1'))).input_seq).toBe(1);
      expect((await store.enqueueInput(bob, 'c1', input('r3'))).input_seq).toBe(1);
      expect(await store.getChat(ada, 'c1')).toMatchObject({ workflow_id: 'wf' });
      const first = (await store.nextInput(ada, 'c1'))!;
      expect(first).toMatchObject({ request_id: 'r1', content: 'r1', context: { plan: 'pro' }, input_seq: 1 });
      await store.commit(ada, 'c1', { run: { run_id: 'run_r1', input: first } });
      expect((await store.nextInput(ada, 'c1'))!.request_id).toBe('r1');
      // An input whose run began can no longer be withdrawn; a waiting one can.
      await store.cancelInput(ada, 'c1', 'r1');
      await store.cancelInput(ada, 'c1', 'r2');
      expect((await store.nextInput(ada, 'c1'))!.request_id).toBe('r1');
      expect((await store.chatsWithPendingWork()).map((c) => `${c.user_id}/${c.chat_id}`).sort()).toEqual(['ada/c1', 'bob/c1']);
      // A chat some executor holds is its business, not the sweep's.
      await store.acquireLease(bob, 'c1', 'exec-1', 10_000);
      expect((await store.chatsWithPendingWork()).map((c) => `${c.user_id}/${c.chat_id}`)).toEqual(['ada/c1']);
      await store.releaseLease(bob, 'c1', 'exec-1');
      await store.commit(ada, 'c1', { run: { run_id: 'run_r1', input: first, finish: 'completed' } });
      expect(await store.nextInput(ada, 'c1')).toBeUndefined();
      // Its usage is still to be published.
      expect((await store.chatsWithPendingWork()).map((c) => `${c.user_id}/${c.chat_id}`).sort()).toEqual(['ada/c1', 'bob/c1']);
      await store.markUsagePublished(ada, 'c1', 'run_r1');
      expect((await store.chatsWithPendingWork()).map((c) => `${c.user_id}/${c.chat_id}`)).toEqual(['bob/c1']);
    });

    it('commits a step of a run atomically: messages, events with seq, calls, and its end', async () => {
      const pending = await store.enqueueInput(ada, 'c1', { request_id: 'r1', workflow_id: 'wf', content: 'hi', context: {}, max_tokens: 99, received_at: new Date().toISOString() });
      expect(await store.getRun(ada, 'c1', 'run_1')).toBeUndefined();
      const call = { call_id: 'x', agent: 'A', model: 'm', prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
      const stored = await store.commit(ada, 'c1', { messages: [{ role: 'assistant', content: 'a' }], events: [event('e1'), event('e2')], run: { run_id: 'run_1', input: pending, calls: [call] } });
      expect(stored.map((e) => e.seq)).toEqual([1, 2]);
      expect(await store.getRun(ada, 'c1', 'run_1')).toMatchObject({ status: 'running', calls: [call], usage_published: false, max_tokens: 99, input_seq: 1 });
      await store.commit(ada, 'c1', { run: { run_id: 'run_1', input: pending, calls: [call], finish: 'completed' } });
      expect(await store.getRun(ada, 'c1', 'run_1')).toMatchObject({ status: 'completed', calls: [call, call], finished_at: expect.any(String) });
      expect((await store.runsAwaitingUsage(ada, 'c1')).map((r) => r.run_id)).toEqual(['run_1']);
      await store.markUsagePublished(ada, 'c1', 'run_1');
      expect(await store.runsAwaitingUsage(ada, 'c1')).toEqual([]);
      // A failing step leaves nothing behind.
      await expect(store.commit(ada, 'c1', { messages: [{ role: 'user', content: 'lost?' }], events: [event('e3'), { ...event('bad'), content: 10n } as never], run: { run_id: 'run_2', input: pending } })).rejects.toThrow();
      expect((await store.listEvents(ada, 'c1')).map((e) => e.event_id)).toEqual(['e1', 'e2']);
      expect(await store.getRun(ada, 'c1', 'run_2')).toBeUndefined();
      expect((await store.listMessages(ada, 'c1')).map((m) => m.content)).toEqual(['a']);
    });

    it('keeps a chat\'s context variables, replaced whole by a commit', async () => {
      await store.ensureChat(ada, 'c1', 'wf');
      expect((await store.getChat(ada, 'c1'))!.context).toBeUndefined();
      await store.commit(ada, 'c1', { context: { collected: true, tier: 'gold' } });
      await store.commit(ada, 'c1', { context: { collected: false } });
      expect((await store.getChat(ada, 'c1'))!.context).toEqual({ collected: false });
      expect((await store.getChat(bob, 'c1'))?.context).toBeUndefined();
    });

    it('gives a chat\'s lease to one holder at a time until it is released or expires', async () => {
      expect(await store.acquireLease(ada, 'c1', 'exec-1', 10_000)).toBe(true);
      expect(await store.acquireLease(ada, 'c1', 'exec-2', 10_000)).toBe(false);
      expect(await store.acquireLease(bob, 'c1', 'exec-2', 10_000)).toBe(true);
      expect(await store.acquireLease(ada, 'c1', 'exec-1', 10_000)).toBe(true);
      await store.releaseLease(ada, 'c1', 'exec-2');
      expect(await store.acquireLease(ada, 'c1', 'exec-2', 10_000)).toBe(false);
      await store.releaseLease(ada, 'c1', 'exec-1');
      expect(await store.acquireLease(ada, 'c1', 'exec-2', 50)).toBe(true);
      await new Promise((r) => setTimeout(r, 80));
      expect(await store.acquireLease(ada, 'c1', 'exec-1', 10_000)).toBe(true);
    });

    if (factory.reopen) {
      it('keeps everything across a restart', async () => {
        await store.ensureChat(ada, 'c1', 'wf');
        await store.commit(ada, 'c1', { messages: [{ role: 'user', content: 'kept' }] });
        await store.appendEvent(ada, 'c1', event('e1'));
        await store.close();
        store = await factory.reopen!();
        expect((await store.listMessages(ada, 'c1')).map((m) => m.content)).toEqual(['kept']);
        expect((await store.appendEvent(ada, 'c1', event('e2'))).seq).toBe(2);
      });
    }
  });
}
