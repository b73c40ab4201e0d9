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
      await store.appendMessages(ada, 'c1', [{ role: 'user', content: 'one' }]);
      await store.appendMessages(ada, 'c1', [{ role: 'assistant', content: 'two' }, { role: 'user', content: 'three' }]);
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
      await store.appendMessages(ada, 'c1', [{ role: 'user', content: 'ada secret' }]);
      await store.appendEvent(ada, 'c1', event('e1'));
      expect(await store.getChat(bob, 'c1')).toBeUndefined();
      expect(await store.listMessages(bob, 'c1')).toEqual([]);
      expect(await store.listEvents(adaElsewhere, 'c1')).toEqual([]);
      await expect(store.appendMessages(bob, 'c1', [{ role: 'user', content: 'x' }])).rejects.toBeInstanceOf(ChatNotFoundError);
      await expect(store.appendEvent(adaElsewhere, 'c1', event('e2'))).rejects.toBeInstanceOf(ChatNotFoundError);
      await store.ensureChat(bob, 'c1', 'wf');
      expect(await store.listMessages(bob, 'c1')).toEqual([]);
      expect((await store.appendEvent(bob, 'c1', event('e3'))).seq).toBe(1);
    });

    if (factory.reopen) {
      it('keeps everything across a restart', async () => {
        await store.ensureChat(ada, 'c1', 'wf');
        await store.appendMessages(ada, 'c1', [{ role: 'user', content: 'kept' }]);
        await store.appendEvent(ada, 'c1', event('e1'));
        await store.close();
        store = await factory.reopen!();
        expect((await store.listMessages(ada, 'c1')).map((m) => m.content)).toEqual(['kept']);
        expect((await store.appendEvent(ada, 'c1', event('e2'))).seq).toBe(2);
      });
    }
  });
}
