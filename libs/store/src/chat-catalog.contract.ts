// The ChatCatalog contract: what every adapter lists and summarizes. Run it with `chatCatalogContract`.
import type { NewInput } from './chat-inbox';
import type { ChatSummary } from './chat-catalog';
import { progressOf, sleep, writerFor } from './lease-churn.support';
import type { ChatStores } from './open-store';
import type { StoreFactory } from './store.contract';

const ada = { app_id: 'app_1', user_id: 'ada' };
const bob = { app_id: 'app_1', user_id: 'bob' };
const adaElsewhere = { app_id: 'app_2', user_id: 'ada' };

function input(id: string, extra: Partial<NewInput> = {}): NewInput {
  return {
    request_id: id,
    workflow_id: 'wf',
    content: id,
    context: {},
    received_at: new Date().toISOString(),
    ...extra,
  };
}

/** Every page of a listing, `limit` at a time, the way a client follows its cursor. */
async function allPages(stores: ChatStores, query: { app_id: string; user_id?: string }, limit: number) {
  const pages: ChatSummary[][] = [];
  for (let after: ChatSummary | undefined; ;) {
    const page = await stores.catalog.listChats({ ...query, limit, ...(after ? { after } : {}) });
    if (!page.length) return pages;
    pages.push(page);
    after = page.at(-1);
  }
}

export function chatCatalogContract(name: string, factory: StoreFactory): void {
  describe(`ChatCatalog contract: ${name}`, () => {
    let stores: ChatStores;
    beforeEach(async () => {
      stores = await factory.create();
    });
    afterEach(() => stores.close());

    it("summarizes a chat: its first message as title, its runs and the last one's status", async () => {
      const long = 'é'.repeat(79) + '🙂' + 'more';
      await stores.inbox.accept(ada, 'c1', input('open', { kind: 'open', content: '' }));
      await stores.inbox.accept(ada, 'c1', input('m1', { content: long }));
      await stores.inbox.accept(ada, 'c1', input('m2'));
      expect(await stores.catalog.summary(ada, 'c1')).toMatchObject({
        chat_id: 'c1',
        user_id: 'ada',
        workflow_id: 'wf',
        runs: 0,
        last_status: null,
        title: 'é'.repeat(79) + '🙂',
      });
      const { lease, writer } = await writerFor(stores, ada, 'c1');
      await writer.append({ run: { run_id: 'run_open', input_seq: 1, workflow_id: 'wf', finish: 'completed' } });
      await writer.append({ run: { run_id: 'run_m1', input_seq: 2, workflow_id: 'wf', finish: 'failed' } });
      await writer.append({ run: { run_id: 'run_m2', input_seq: 3, workflow_id: 'wf', calls: [] } });
      expect(await stores.catalog.summary(ada, 'c1')).toMatchObject({ runs: 3, last_status: 'running' });
      await writer.append({ run: { run_id: 'run_m2', input_seq: 3, workflow_id: 'wf', finish: 'cancelled' } });
      await stores.inbox.release(lease, progressOf(writer));
      expect(await stores.catalog.summary(ada, 'c1')).toMatchObject({ runs: 3, last_status: 'cancelled' });
      expect(await stores.catalog.summary(bob, 'c1')).toBeUndefined();
      expect(await stores.catalog.summary(adaElsewhere, 'c1')).toBeUndefined();
    });

    it("lists an app's chats newest activity first, page by page, each once, by user and workflow", async () => {
      for (let i = 0; i < 12; i++) {
        await stores.inbox.accept(i % 3 ? ada : bob, `c${i}`, input(`r${i}`, { workflow_id: i % 2 ? 'odd' : 'even' }));
        // Two chats in the same millisecond are ordered by user, then chat id: no sleep needed, but a few make it real.
        if (i % 4 === 0) await sleep(2);
      }
      await stores.inbox.accept(adaElsewhere, 'c0', input('elsewhere'));
      // A message moves its chat to the top.
      await sleep(2);
      await stores.inbox.accept(bob, 'c0', input('again'));
      const whole = await stores.catalog.listChats({ app_id: 'app_1', limit: 100 });
      expect(whole).toHaveLength(12);
      expect(whole[0]).toMatchObject({ user_id: 'bob', chat_id: 'c0', title: 'r0' });
      const order = (s: ChatSummary) => [s.last_activity_at, s.user_id, s.chat_id].join('\u0000');
      expect(whole.map(order)).toEqual(whole.map(order).sort().reverse());
      for (const limit of [1, 5, 12]) {
        const pages = await allPages(stores, { app_id: 'app_1' }, limit);
        expect(pages.flat()).toEqual(whole);
        expect(pages.every((p) => p.length <= limit)).toBe(true);
      }
      const adas = (await allPages(stores, { app_id: 'app_1', user_id: 'ada' }, 3)).flat();
      expect(adas.map((s) => s.chat_id)).toEqual(whole.filter((s) => s.user_id === 'ada').map((s) => s.chat_id));
      const odd = await stores.catalog.listChats({ app_id: 'app_1', user_id: 'ada', workflow_id: 'odd', limit: 100 });
      expect(odd.map((s) => s.chat_id).sort()).toEqual(['c1', 'c5', 'c7', 'c11'].sort());
      expect(await stores.catalog.listChats({ app_id: 'app_2', limit: 100 })).toMatchObject([
        { chat_id: 'c0', title: 'elsewhere' },
      ]);
      expect(await stores.catalog.listChats({ app_id: 'app_3', limit: 100 })).toEqual([]);
      // The retention sweep sees every app's chats last active before a moment, oldest first.
      const cut = whole.find((s) => s.chat_id === 'c6')!.last_activity_at;
      const stale = await stores.catalog.staleChats(cut, 100);
      // Every chat of app_1 before c6's moment (app_2's chat came after all of them).
      const older = whole.filter((s) => s.last_activity_at < cut);
      expect(stale.map((s) => s.chat_id).sort()).toEqual(older.map((s) => s.chat_id).sort());
      expect(await stores.catalog.staleChats(cut, 1)).toHaveLength(Math.min(1, stale.length));
    });

    it('erases every trace of a chat under its lease, counts it, and a later input opens a new, empty chat', async () => {
      await stores.inbox.accept(ada, 'c1', input('m1'));
      await stores.inbox.accept(ada, 'c1', input('m2'));
      await stores.inbox.accept(ada, 'c2', input('keep'));
      const usage = {
        type: 'usage_update' as const,
        event_id: 'usage_run_1',
        chat_id: 'c1',
        user_id: 'ada',
        app_id: 'app_1',
        workflow_id: 'wf',
        run_id: 'run_1',
        tokens: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        total_tokens: 2,
        cost_usd: 0,
        models: [],
        timestamp: new Date().toISOString(),
      };
      const event = (id: string) => ({
        type: 'agent_message' as const,
        chat_id: 'c1',
        event_id: id,
        timestamp: new Date().toISOString(),
        run_id: 'run_1',
        agent: 'A',
        content: 'secret',
      });
      const held = await writerFor(stores, ada, 'c1');
      await held.writer.append({
        messages: [{ role: 'user', content: 'secret' }],
        events: [event('e1'), event('e2')],
        context: { email: 'ada@example.com' },
        run: { run_id: 'run_1', input_seq: 1, workflow_id: 'wf', finish: 'completed', usage },
      });
      await stores.inbox.release(held.lease, progressOf(held.writer));
      const other = await writerFor(stores, ada, 'c2');
      await other.writer.append({ events: [event('e9')], messages: [{ role: 'user', content: 'keep' }] });

      const eraser = (await stores.inbox.acquire(ada, 'c1', 'eraser', 10_000))!;
      expect(eraser).toBeDefined();
      expect(await stores.catalog.erase(ada, 'c1')).toEqual({ chats: 1, events: 3 });
      expect(await stores.catalog.summary(ada, 'c1')).toBeUndefined();
      expect(await stores.log.getChat(ada, 'c1')).toBeUndefined();
      expect(await stores.log.listEvents(ada, 'c1')).toEqual([]);
      expect(await stores.log.listMessages(ada, 'c1')).toEqual([]);
      expect(await stores.inbox.pending(ada, 'c1', 0)).toEqual([]);
      expect(await stores.inbox.unpublishedUsage(ada, 'c1')).toEqual([]);
      expect(await stores.catalog.chatIdsOf(ada)).toEqual(['c2']);
      // Nothing is left to erase; the other chat is whole.
      expect(await stores.catalog.erase(ada, 'c1')).toEqual({ chats: 0, events: 0 });
      expect((await stores.log.listMessages(ada, 'c2')).map((m) => m.content)).toEqual(['keep']);
      expect(await stores.inbox.pending(ada, 'c2', 0)).toHaveLength(1);

      // The same chat id starts over: its first input is number 1, its history empty.
      expect((await stores.inbox.accept(ada, 'c1', input('again'))).input.input_seq).toBe(1);
      const fresh = await writerFor(stores, ada, 'c1', 'exec-2');
      expect(fresh.writer.messages).toEqual([]);
      expect(fresh.writer.chat.context).toBeUndefined();
      expect(fresh.writer.inputsDone).toBe(0);
    });
  });
}
