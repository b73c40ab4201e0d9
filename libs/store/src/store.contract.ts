// The ChatLog and ChatInbox contracts: what every adapter must do. Run them against an adapter with
// `chatLogContract` and `chatInboxContract`; both take a factory of stores over one database.
import type { UsageUpdateEvent } from '@mozaiks/protocol';
import type { NewInput } from './chat-inbox';
import { answerRequestId } from './chat-inbox';
import type { NewEvent } from './chat-log';
import { LeaseLostError } from './lease';
import { churn, expectChurnedLog, progressOf, sleep, writerFor } from './lease-churn.support';
import type { ChatStores } from './open-store';

export interface StoreFactory {
  /** A store over a fresh, empty database. */
  create(): Promise<ChatStores>;
  /** Another handle on the database `create` made last (another process, or a restart). */
  reopen(): Promise<ChatStores>;
  /**
   * Whether the server applies conditional single-document updates atomically, so that a lease has
   * one holder at a time. FerretDB v1 does not (it can lose one of two concurrent updates of a
   * document); the log's unique step numbers still refuse the second holder's writes. @default true
   */
  exclusiveLeases?: boolean;
}

const ada = { app_id: 'app_1', user_id: 'ada' };
const bob = { app_id: 'app_1', user_id: 'bob' };
const adaElsewhere = { app_id: 'app_2', user_id: 'ada' };

function event(id: string, content = id, chatId = 'c1'): NewEvent {
  return {
    type: 'agent_message',
    chat_id: chatId,
    event_id: id,
    timestamp: new Date().toISOString(),
    run_id: 'r1',
    agent: 'A',
    content,
  };
}

function input(id: string, extra: Partial<NewInput> = {}): NewInput {
  return {
    request_id: id,
    workflow_id: 'wf',
    content: id,
    context: { plan: 'pro' },
    received_at: new Date().toISOString(),
    ...extra,
  };
}

function usage(runId: string, chatId = 'c1'): Omit<UsageUpdateEvent, 'seq'> {
  const tokens = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
  return {
    type: 'usage_update',
    event_id: `usage_${runId}`,
    chat_id: chatId,
    user_id: 'ada',
    app_id: 'app_1',
    workflow_id: 'wf',
    run_id: runId,
    tokens,
    total_tokens: 3,
    cost_usd: 0,
    models: [],
    timestamp: new Date().toISOString(),
  };
}

/** Opens stores through the returned function and closes every one of them after each test. */
function closedAfterEach(): (make: () => Promise<ChatStores>) => Promise<ChatStores> {
  const opened: ChatStores[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  });
  return async (make) => {
    const s = await make();
    opened.push(s);
    return s;
  };
}

export function chatLogContract(name: string, factory: StoreFactory): void {
  describe(`ChatLog contract: ${name}`, () => {
    let stores: ChatStores;
    const open = closedAfterEach();
    beforeEach(async () => {
      stores = await open(() => factory.create());
    });

    it('numbers events 1, 2, 3… per chat, keeps messages in order, and lists events after a seq', async () => {
      const { writer } = await writerFor(stores, ada, 'c1');
      const first = await writer.append({
        messages: [{ role: 'user', content: 'one' }],
        events: [event('e1'), event('e2')],
      });
      const second = await writer.append({
        messages: [
          { role: 'assistant', content: 'two' },
          { role: 'user', content: 'three' },
        ],
        events: [event('e3')],
      });
      expect([...first, ...second].map((e) => e.seq)).toEqual([1, 2, 3]);
      const { writer: other } = await writerFor(stores, ada, 'c2');
      expect((await other.append({ events: [event('x1', 'x', 'c2')] }))[0]!.seq).toBe(1);
      expect((await stores.log.listMessages(ada, 'c1')).map((m) => m.content)).toEqual(['one', 'two', 'three']);
      expect((await stores.log.listEvents(ada, 'c1', 1)).map((e) => e.event_id)).toEqual(['e2', 'e3']);
      expect((await stores.log.listEvents(ada, 'c1', 0, 2)).map((e) => e.seq)).toEqual([1, 2]);
      // Pages that start and end inside steps, and one that reaches past the last step.
      expect((await stores.log.listEvents(ada, 'c1', 1, 1)).map((e) => e.seq)).toEqual([2]);
      expect((await stores.log.listEvents(ada, 'c1', 1, 2)).map((e) => e.seq)).toEqual([2, 3]);
      expect((await stores.log.listEvents(ada, 'c1', 0, 1)).map((e) => e.seq)).toEqual([1]);
      expect((await stores.log.listEvents(ada, 'c1', 2, 10)).map((e) => e.seq)).toEqual([3]);
      expect(await stores.log.listEvents(ada, 'c1', 3, 10)).toEqual([]);
      expect(await stores.log.getChat(ada, 'c1')).toMatchObject({
        app_id: 'app_1',
        user_id: 'ada',
        chat_id: 'c1',
        workflow_id: 'wf',
        last_seq: 3,
      });
      expect(writer.chat.last_seq).toBe(3);
      expect(writer.messages).toHaveLength(3);
    });

    it('keeps tenants apart under the same chat_id', async () => {
      const { writer } = await writerFor(stores, ada, 'c1');
      await writer.append({ messages: [{ role: 'user', content: 'ada secret' }], events: [event('e1')] });
      expect(await stores.log.getChat(bob, 'c1')).toBeUndefined();
      expect(await stores.log.listMessages(bob, 'c1')).toEqual([]);
      expect(await stores.log.listEvents(adaElsewhere, 'c1')).toEqual([]);
      // Bob's chat of the same id is his own, empty one.
      const { writer: bobs } = await writerFor(stores, bob, 'c1');
      expect(bobs.messages).toEqual([]);
      expect((await bobs.append({ events: [event('e2')] }))[0]!.seq).toBe(1);
      expect((await stores.log.listEvents(ada, 'c1')).map((e) => e.event_id)).toEqual(['e1']);
    });

    it('replaces context variables whole and keeps an input request open until the next step', async () => {
      const { writer } = await writerFor(stores, ada, 'c1');
      expect((await stores.log.getChat(ada, 'c1'))?.context).toBeUndefined();
      await writer.append({ context: { collected: true, tier: 'gold' }, awaitInput: { request_id: 'q1', agent: 'A' } });
      expect(await stores.log.getChat(ada, 'c1')).toMatchObject({
        context: { collected: true, tier: 'gold' },
        awaiting: { request_id: 'q1', agent: 'A' },
      });
      await writer.append({ context: { collected: false } });
      const chat = await stores.log.getChat(ada, 'c1');
      expect(chat?.context).toEqual({ collected: false });
      expect(chat?.awaiting).toBeUndefined();
      await writer.append({ events: [event('e1')] });
      expect((await stores.log.getChat(ada, 'c1'))?.context).toEqual({ collected: false });
    });

    it('gives a later writer the run left unfinished, with its calls, and the inputs done', async () => {
      const call = { call_id: 'x', agent: 'A', model: 'm', prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
      const first = await writerFor(stores, ada, 'c1');
      await first.writer.append({
        messages: [{ role: 'assistant', content: 'a' }],
        run: { run_id: 'run_1', input_seq: 1, workflow_id: 'wf', calls: [call] },
      });
      await first.writer.append({
        run: { run_id: 'run_1', input_seq: 1, workflow_id: 'wf', finish: 'completed', usage: usage('run_1') },
      });
      await first.writer.append({ run: { run_id: 'run_2', input_seq: 2, workflow_id: 'wf', calls: [call, call] } });
      await stores.inbox.release(first.lease, progressOf(first.writer));
      const second = await writerFor(await open(() => factory.reopen()), ada, 'c1', 'exec-2');
      expect(second.writer.inputsDone).toBe(1);
      expect(second.writer.unfinishedRun).toEqual({ run_id: 'run_2', input_seq: 2, calls: [call, call] });
      expect(second.writer.messages.map((m) => m.content)).toEqual(['a']);
    });

    it("appends a run's usage event after the step's other events, in the usage outbox", async () => {
      const { writer } = await writerFor(stores, ada, 'c1');
      const stored = await writer.append({
        events: [event('e1')],
        run: { run_id: 'run_1', input_seq: 1, workflow_id: 'wf', finish: 'completed', usage: usage('run_1') },
      });
      expect(stored.map((e) => [e.type, e.seq])).toEqual([
        ['agent_message', 1],
        ['usage_update', 2],
      ]);
      expect(await stores.inbox.unpublishedUsage(ada, 'c1')).toEqual([
        expect.objectContaining({ event_id: 'usage_run_1', seq: 2 }),
      ]);
      await stores.inbox.markUsagePublished([{ tenant: ada, chatId: 'c1', eventId: 'usage_run_1' }]);
      expect(await stores.inbox.unpublishedUsage(ada, 'c1')).toEqual([]);
      expect(writer.inputsDone).toBe(1);
    });

    it("marks several chats' usage published at once, and nothing else", async () => {
      const finish = (runId: string) => ({
        run: { run_id: runId, input_seq: 1, workflow_id: 'wf', finish: 'completed' as const, usage: usage(runId) },
      });
      await (await writerFor(stores, ada, 'c1')).writer.append(finish('run_a'));
      await (await writerFor(stores, ada, 'c2')).writer.append(finish('run_b'));
      await (await writerFor(stores, bob, 'c1')).writer.append(finish('run_c'));
      await stores.inbox.markUsagePublished([
        { tenant: ada, chatId: 'c1', eventId: 'usage_run_a' },
        { tenant: bob, chatId: 'c1', eventId: 'usage_run_c' },
        // Another chat's event id names nothing in this one.
        { tenant: ada, chatId: 'c2', eventId: 'usage_run_c' },
      ]);
      expect(await stores.inbox.unpublishedUsage(ada, 'c1')).toEqual([]);
      expect(await stores.inbox.unpublishedUsage(bob, 'c1')).toEqual([]);
      expect((await stores.inbox.unpublishedUsage(ada, 'c2')).map((e) => e.event_id)).toEqual(['usage_run_b']);
      await stores.inbox.markUsagePublished([]);
    });

    it('stores what tools and users wrote as it is, whatever its keys', async () => {
      const odd = { $context: { 'a.b': 1 }, $handoff: 'x', 'dotted.key': [{ $in: null }] };
      const { writer } = await writerFor(stores, ada, 'c1');
      await writer.append({
        messages: [{ role: 'tool', content: 'r', raw: odd }],
        events: [{ ...event('e1'), result: odd } as NewEvent],
        context: { odd },
      });
      expect((await stores.log.listMessages(ada, 'c1'))[0]).toEqual({ role: 'tool', content: 'r', raw: odd });
      expect((await stores.log.listEvents(ada, 'c1'))[0]).toMatchObject({ result: odd });
      expect((await stores.log.getChat(ada, 'c1'))?.context).toEqual({ odd });
      const accepted = await stores.inbox.accept(ada, 'c2', input('r1', { context: odd }));
      expect((await stores.inbox.pending(ada, 'c2', 0))[0]).toEqual(accepted.input);
      expect(accepted.input.context).toEqual(odd);
    });

    it('stores nothing of a step that cannot be stored', async () => {
      const { writer } = await writerFor(stores, ada, 'c1');
      await writer.append({ messages: [{ role: 'user', content: 'kept' }], events: [event('e1')] });
      const cyclic: Record<string, unknown> = { role: 'user' };
      cyclic.self = cyclic;
      await expect(
        writer.append({ messages: [{ role: 'user', content: 'lost?' }, cyclic], events: [event('e2')] }),
      ).rejects.toThrow();
      expect((await stores.log.listEvents(ada, 'c1')).map((e) => e.event_id)).toEqual(['e1']);
      expect((await stores.log.listMessages(ada, 'c1')).map((m) => m.content)).toEqual(['kept']);
      expect((await writer.append({ events: [event('e3')] }))[0]!.seq).toBe(2);
    });

    it("refuses the late commit of a holder whose lease was taken over, and keeps the new holder's history intact", async () => {
      const a = await writerFor(stores, ada, 'c1', 'exec-a', 100);
      await a.writer.append({ events: [event('a1')] });
      // A stalls past its lease; B takes over on another connection and commits.
      await sleep(150);
      const other = await open(() => factory.reopen());
      const b = await writerFor(other, ada, 'c1', 'exec-b');
      expect(b.lease.takeover).toBe(true);
      expect(b.lease.epoch).toBeGreaterThan(a.lease.epoch);
      await b.writer.append({ events: [event('b1')] });
      await expect(
        a.writer.append({ events: [event('a2')], messages: [{ role: 'user', content: 'late' }] }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await stores.inbox.renew([a.lease, b.lease], 1000)).toEqual([false, true]);
      await b.writer.append({ events: [event('b2')] });
      expect((await stores.log.listEvents(ada, 'c1')).map((e) => [e.event_id, e.seq])).toEqual([
        ['a1', 1],
        ['b1', 2],
        ['b2', 3],
      ]);
      expect(await stores.log.listMessages(ada, 'c1')).toEqual([]);
    });

    it("prunes old events only: messages, the chat's state and usage still to publish stay", async () => {
      const { writer } = await writerFor(stores, ada, 'c1');
      await writer.append({
        messages: [{ role: 'user', content: 'kept' }],
        events: [event('e1')],
        context: { tier: 'gold' },
      });
      await writer.append({
        events: [event('e2')],
        run: { run_id: 'run_1', input_seq: 1, workflow_id: 'wf', finish: 'completed', usage: usage('run_1') },
      });
      await sleep(5);
      await stores.prune(0);
      expect(await stores.log.listEvents(ada, 'c1')).toEqual([]);
      expect((await stores.log.listMessages(ada, 'c1')).map((m) => m.content)).toEqual(['kept']);
      expect(await stores.log.getChat(ada, 'c1')).toMatchObject({ last_seq: 3, context: { tier: 'gold' } });
      expect((await stores.inbox.unpublishedUsage(ada, 'c1')).map((u) => [u.event_id, u.seq])).toEqual([
        ['usage_run_1', 3],
      ]);
      // Numbering goes on where it was.
      expect((await writer.append({ events: [event('e4')] }))[0]!.seq).toBe(4);
      expect((await stores.log.listEvents(ada, 'c1')).map((e) => e.event_id)).toEqual(['e4']);
    });

    it('keeps everything across a restart', async () => {
      const { writer, lease } = await writerFor(stores, ada, 'c1');
      await writer.append({ messages: [{ role: 'user', content: 'kept' }], events: [event('e1')] });
      await stores.inbox.release(lease, progressOf(writer));
      await stores.close();
      stores = await open(() => factory.reopen());
      expect((await stores.log.listMessages(ada, 'c1')).map((m) => m.content)).toEqual(['kept']);
      const again = await writerFor(stores, ada, 'c1');
      expect((await again.writer.append({ events: [event('e2')] }))[0]!.seq).toBe(2);
    });

    it("carries a writer over to the same holder's next one, reading what others committed in between", async () => {
      const first = await writerFor(stores, ada, 'c1', 'exec-1');
      await first.writer.append({
        messages: [{ role: 'user', content: 'a' }],
        events: [event('e1')],
        context: { n: 1 },
      });
      await stores.inbox.release(first.lease, progressOf(first.writer));
      // Carried over with nothing in between.
      const second = await writerFor(stores, ada, 'c1', 'exec-1', 10_000, first.writer);
      expect(second.writer.messages.map((m) => m.content)).toEqual(['a']);
      expect(second.writer.position).toBe(first.writer.position);
      await expect(first.writer.append({ events: [event('late')] })).rejects.toBeInstanceOf(LeaseLostError);
      await second.writer.append({ messages: [{ role: 'assistant', content: 'b' }], events: [event('e2')] });
      await stores.inbox.release(second.lease, progressOf(second.writer));
      // Another holder, on another connection, commits in between.
      const elsewhere = await writerFor(await open(() => factory.reopen()), ada, 'c1', 'exec-2');
      await elsewhere.writer.append({
        messages: [{ role: 'user', content: 'c' }],
        events: [event('e3')],
        context: { n: 3 },
        awaitInput: { request_id: 'q', agent: 'A' },
      });
      await stores.inbox.release(elsewhere.lease, progressOf(elsewhere.writer));
      const third = await writerFor(stores, ada, 'c1', 'exec-1', 10_000, second.writer);
      expect(third.writer.messages.map((m) => m.content)).toEqual(['a', 'b', 'c']);
      expect(third.writer.chat).toMatchObject({
        last_seq: 3,
        context: { n: 3 },
        awaiting: { request_id: 'q', agent: 'A' },
      });
      expect((await third.writer.append({ events: [event('e4')] }))[0]!.seq).toBe(4);
      expect((await stores.log.listEvents(ada, 'c1')).map((e) => e.event_id)).toEqual(['e1', 'e2', 'e3', 'e4']);
    });

    it('completes a read begun before the lease with what the previous holder committed after it', async () => {
      const holder = await writerFor(stores, ada, 'c1', 'exec-2');
      await holder.writer.append({ messages: [{ role: 'user', content: 'early' }], events: [event('e1')] });
      const other = await open(() => factory.reopen());
      const prefetched = await other.log.prefetch(ada, 'c1');
      await holder.writer.append({ messages: [{ role: 'assistant', content: 'late' }], events: [event('e2')] });
      await stores.inbox.release(holder.lease, progressOf(holder.writer));
      const lease = (await other.inbox.acquire(ada, 'c1', 'exec-1', 10_000))!;
      expect(lease.position).toBe(holder.writer.position);
      const writer = await other.log.openWriter(lease, 'wf', { prefetched });
      expect(writer.messages.map((m) => m.content)).toEqual(['early', 'late']);
      expect((await writer.append({ events: [event('e3')] }))[0]!.seq).toBe(3);
    });

    it("keeps seq gapless with 4 writers stealing one chat's lease from each other", async () => {
      const writers = 4;
      const commits = Number(process.env.STORE_STRESS_COMMITS ?? 150);
      const handles = await Promise.all(Array.from({ length: writers }, () => open(() => factory.reopen())));
      const results = await Promise.all(
        handles.map((s, w) =>
          churn(s, {
            holder: `w${w}`,
            commits,
            ttlMs: 40,
            // Holding the lease, the writer's history is the log's, whatever it was carried over from
            // (checked on a sample: reading the whole history at every open would dominate the test).
            onOpen: async (writer) => {
              if (factory.exclusiveLeases !== false && Math.random() < 0.2)
                expect(writer.messages.map((m) => m.content)).toEqual(
                  (await s.log.listMessages(ada, 'c1')).map((m) => m.content),
                );
            },
          }),
        ),
      );
      const { epochs, refused, opened } = await expectChurnedLog(stores, results);
      expect(results.flatMap((r) => r.acknowledged)).toHaveLength(writers * commits);
      process.stderr.write(
        `${name}: ${writers}×${commits} commits, ${refused} fenced writes refused, ${opened} writers opened, ${epochs} lease epochs\n`,
      );
    });
  });
}

export function chatInboxContract(name: string, factory: StoreFactory): void {
  describe(`ChatInbox contract: ${name}`, () => {
    let stores: ChatStores;
    const open = closedAfterEach();
    beforeEach(async () => {
      stores = await open(() => factory.create());
    });

    it('accepts inputs in order per chat, idempotently on request id, creating the chat', async () => {
      expect((await stores.inbox.accept(ada, 'c1', input('r1'))).input.input_seq).toBe(1);
      expect(await stores.inbox.accept(ada, 'c1', input('r2'))).toMatchObject({
        input: { input_seq: 2 },
        created: true,
      });
      expect(await stores.inbox.accept(ada, 'c1', input('r1', { content: 'changed' }))).toMatchObject({
        input: { input_seq: 1, content: 'r1' },
        created: false,
      });
      expect((await stores.inbox.accept(bob, 'c1', input('r3'))).input.input_seq).toBe(1);
      expect(await stores.log.getChat(ada, 'c1')).toMatchObject({ workflow_id: 'wf', last_seq: 0 });
      expect((await stores.inbox.pending(ada, 'c1', 0)).map((i) => [i.request_id, i.input_seq, i.context])).toEqual([
        ['r1', 1, { plan: 'pro' }],
        ['r2', 2, { plan: 'pro' }],
      ]);
      expect((await stores.inbox.pending(ada, 'c1', 1)).map((i) => i.request_id)).toEqual(['r2']);
      expect((await stores.inbox.pending(ada, 'c1', 0, 1)).map((i) => i.request_id)).toEqual(['r1']);
      expect(await stores.inbox.pending(adaElsewhere, 'c1', 0)).toEqual([]);
    });

    it('numbers inputs accepted at once through several connections 1..n, each once', async () => {
      const handles = await Promise.all([0, 1, 2].map(() => open(() => factory.reopen())));
      const ids = Array.from({ length: 30 }, (_, i) => `m${i}`);
      // Every request is sent twice, through different connections, as a retrying client would.
      const results = await Promise.all(
        [...ids, ...ids].map((id, i) => handles[i % 3]!.inbox.accept(ada, 'c1', input(id))),
      );
      const pending = await stores.inbox.pending(ada, 'c1', 0, 100);
      expect(pending.map((p) => p.input_seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(new Set(pending.map((p) => p.request_id)).size).toBe(30);
      expect(results.filter((r) => r.created)).toHaveLength(30);
      for (const r of results)
        expect(pending.find((p) => p.request_id === r.input.request_id)?.input_seq).toBe(r.input.input_seq);
    });

    it('accepts an input only as the number it must have when the chat is idle', async () => {
      expect(await stores.inbox.acceptIfIdle(ada, 'c1', input('r1'), 1)).toMatchObject({
        input: { input_seq: 1 },
        created: true,
      });
      // r1 has not run: a second input cannot be number 1, nor jump ahead.
      expect(await stores.inbox.acceptIfIdle(ada, 'c1', input('r2'), 1)).toBeUndefined();
      // The same request again is the one accepted.
      expect(await stores.inbox.acceptIfIdle(ada, 'c1', input('r1'), 1)).toMatchObject({
        input: { input_seq: 1 },
        created: false,
      });
      expect(await stores.inbox.acceptIfIdle(ada, 'c1', input('r3'), 2)).toMatchObject({
        input: { input_seq: 2 },
        created: true,
      });
      expect((await stores.inbox.pending(ada, 'c1', 0)).map((i) => i.request_id)).toEqual(['r1', 'r3']);
      expect(await stores.log.getChat(ada, 'c1')).toMatchObject({ inputs_done: 0 });
    });

    it('accepts the answer to an input request once', async () => {
      const answer = input(answerRequestId('q1'), { kind: 'input', answers: { request_id: 'q1', agent: 'A' } });
      const [x, y] = await Promise.all([
        stores.inbox.accept(ada, 'c1', answer),
        stores.inbox.accept(ada, 'c1', { ...answer, content: 'second' }),
      ]);
      expect([x.created, y.created].sort()).toEqual([false, true]);
      expect(await stores.inbox.pending(ada, 'c1', 0)).toEqual([
        expect.objectContaining({ kind: 'input', answers: { request_id: 'q1', agent: 'A' } }),
      ]);
    });

    it("gives a chat's lease to one holder at a time, with a growing epoch", async () => {
      const first = (await stores.inbox.acquire(ada, 'c1', 'exec-1', 10_000))!;
      expect(first).toMatchObject({ epoch: 1, takeover: false, inputsDone: 0 });
      expect(await stores.inbox.acquire(ada, 'c1', 'exec-2', 10_000)).toBeUndefined();
      expect(await stores.inbox.acquire(ada, 'c1', 'exec-1', 10_000)).toBeUndefined();
      expect(await stores.inbox.acquire(bob, 'c1', 'exec-2', 10_000)).toMatchObject({ epoch: 1 });
      expect(await stores.inbox.renew([first], 10_000)).toEqual([true]);
      await stores.inbox.release(first, { inputsDone: 3, position: 7 });
      expect(await stores.inbox.renew([first], 10_000)).toEqual([false]);
      const second = (await stores.inbox.acquire(ada, 'c1', 'exec-2', 50))!;
      expect(second).toMatchObject({ epoch: 2, takeover: false, inputsDone: 3, position: 7 });
      await sleep(80);
      // Expired without a release: the next holder must fence it.
      const third = (await stores.inbox.acquire(ada, 'c1', 'exec-1', 10_000))!;
      expect(third).toMatchObject({ epoch: 3, takeover: true, position: 0 });
      expect(await stores.inbox.renew([second], 10_000)).toEqual([false]);
      await stores.inbox.release(second, { inputsDone: 9, position: 9 });
      expect(await stores.inbox.acquire(ada, 'c1', 'exec-2', 10_000)).toBeUndefined();
    });

    (factory.exclusiveLeases === false ? it.skip : it)(
      'gives an expired lease to one of many holders asking at once, with the next epoch',
      async () => {
        const handles = await Promise.all(Array.from({ length: 6 }, () => open(() => factory.reopen())));
        for (let round = 1; round <= 5; round++) {
          const leases = await Promise.all(handles.map((h, i) => h.inbox.acquire(ada, 'c1', `exec-${i}`, 30)));
          const granted = leases.filter((l) => l !== undefined);
          expect(granted).toHaveLength(1);
          expect(granted[0]!.epoch).toBe(round);
          await sleep(40);
        }
      },
    );

    it('tells a holder on release that its chat was asked for meanwhile, once', async () => {
      const lease = (await stores.inbox.acquire(ada, 'c1', 'exec-1', 10_000))!;
      expect(await stores.inbox.release(lease, { inputsDone: 0, position: 0 })).toEqual({ wanted: false });
      const again = (await stores.inbox.acquire(ada, 'c1', 'exec-1', 10_000))!;
      const other = await open(() => factory.reopen());
      expect(await other.inbox.acquire(ada, 'c1', 'exec-2', 10_000)).toBeUndefined();
      expect(await stores.inbox.release(again, { inputsDone: 0, position: 0 })).toEqual({ wanted: true });
      // The wish was answered by that release: the next holder starts afresh.
      const third = (await other.inbox.acquire(ada, 'c1', 'exec-2', 10_000))!;
      expect(await other.inbox.release(third, { inputsDone: 0, position: 0 })).toEqual({ wanted: false });
    });

    it('lists chats with work and no live lease for the recovery sweep', async () => {
      const listed = async () =>
        (await stores.inbox.chatsWithWork()).map((c) => `${c.user_id}/${c.chat_id}/${c.workflow_id}`).sort();
      expect(await listed()).toEqual([]);
      await stores.inbox.accept(ada, 'c1', input('r1'));
      await stores.inbox.accept(bob, 'c1', input('r2'));
      expect(await listed()).toEqual(['ada/c1/wf', 'bob/c1/wf']);
      // A chat some executor holds is its business, not the sweep's.
      const lease = (await stores.inbox.acquire(ada, 'c1', 'exec-1', 10_000))!;
      expect(await listed()).toEqual(['bob/c1/wf']);
      const writer = await stores.log.openWriter(lease, 'wf');
      await writer.append({
        run: { run_id: 'run_r1', input_seq: 1, workflow_id: 'wf', finish: 'completed', usage: usage('run_r1') },
      });
      await stores.inbox.release(lease, progressOf(writer));
      // The input ran; its usage is still to be published.
      expect(await listed()).toEqual(['ada/c1/wf', 'bob/c1/wf']);
      await stores.inbox.markUsagePublished([{ tenant: ada, chatId: 'c1', eventId: 'usage_run_r1' }]);
      expect(await listed()).toEqual(['bob/c1/wf']);
    });
  });
}
