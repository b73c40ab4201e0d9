// The ChatLog on MongoDB, without multi-document transactions.
//
// Atomicity: one committed step is one document in `log` (its messages, its events with their
// seqs, the run's calls and end, the usage event, and the chat's state after it). A reader sees a
// step whole or not at all; a crash leaves nothing half-written.
// Ordering and fencing: steps are numbered 1, 2, 3… per chat under a unique index; a step's number
// is the log's position after it. A writer appends at the number after the last step it read; if
// another writer took that number, the insert fails and the write is refused. A holder that takes
// a lease over from one that never released it first inserts a fence step at the next number, so
// the old holder, which still writes at that number, can no longer land anything; and a writer
// that finds a newer epoch in the log when it opens refuses to write at all. Steps therefore carry
// non-decreasing epochs.
// Round trips: a writer opened from this process's previous writer on the chat reads only the
// steps after it, and that read may start before the lease is held (`prefetch`); the lease's
// position, reported by its previous holder, tells whether the read saw everything.
import type { LlmCallUsage, ServerEvent, Tenant } from '@mozaiks/protocol';
import { LeaseLostError } from '../lease.js';
import type { ChatLog, ChatRecord, ChatWriter, LogPrefetch, LogStep, StoredMessage, WriterBasis } from '../chat-log.js';
import type { Lease } from '../lease.js';
import { NO_ENTRIES, chatKey, ensureChat, isDuplicateKey } from './mongo-database.js';
import type { ChatDoc, MongoDatabase, StepDoc } from './mongo-database.js';
import { TrackedWriter } from '../tracked-writer.js';
import type { WriterState } from '../tracked-writer.js';

/** The chat's state after a step: what the next step carries forward. */
interface Head {
  step: number;
  last_seq: number;
  inputs_done: number;
  context?: Record<string, unknown>;
  awaiting?: StepDoc['awaiting'];
  workflow_version?: string;
}
const EMPTY_HEAD: Head = { step: 0, last_seq: 0, inputs_done: 0 };
/** Steps without their events: what a writer or a history reader needs. */
const WITHOUT_EVENTS = { events: 0 } as const;

function fields(t: Tenant, chatId: string) {
  return { app_id: t.app_id, user_id: t.user_id, chat_id: chatId };
}

/** The steps after `after`, read ahead of the lease, and the chat's document when it was read. */
class MongoPrefetch implements LogPrefetch {
  constructor(
    readonly tenant: Tenant,
    readonly chatId: string,
    readonly after: number,
    readonly steps: StepDoc[],
    readonly chat: ChatDoc | null | undefined,
  ) {}
}

export class MongoChatLog implements ChatLog {
  constructor(private readonly database: MongoDatabase) {}

  async getChat(t: Tenant, chatId: string): Promise<ChatRecord | undefined> {
    const key = fields(t, chatId);
    const [chat, head] = await Promise.all([
      this.database.chats.findOne({ _id: chatKey(key) }),
      this.database.log.findOne(key, { sort: { step: -1 }, projection: { events: 0, messages: 0 } }),
    ]);
    if (!chat) return undefined;
    return record(chat, head ? headOfStep(head) : EMPTY_HEAD);
  }

  async listMessages(t: Tenant, chatId: string): Promise<StoredMessage[]> {
    const steps = await this.database.log
      .find({ ...fields(t, chatId), messages: { $ne: NO_ENTRIES } }, { sort: { step: 1 }, projection: { messages: 1 } })
      .toArray();
    return steps.flatMap((s) => JSON.parse(s.messages) as StoredMessage[]);
  }

  async listEvents(t: Tenant, chatId: string, afterSeq = 0, limit = Infinity): Promise<ServerEvent[]> {
    const out: ServerEvent[] = [];
    const take = (events: ServerEvent[]) => {
      for (const event of events) {
        if (event.seq! > afterSeq) out.push(event);
        if (out.length >= limit) return true;
      }
      return false;
    };
    // A step's events have the seqs after the previous step's last_seq up to its own, so every
    // step ending within the page belongs to it whole; only one more step can be needed beyond.
    // Reading just those, a page of a long history costs what it holds, not the next steps too.
    const bound = Number.isFinite(limit) ? { $gt: afterSeq, $lte: afterSeq + limit } : { $gt: afterSeq };
    // Small batches: a page of large steps is read a few steps at a time, not 16 MB at once.
    const cursor = this.database.log.find(
      { ...fields(t, chatId), last_seq: bound },
      { sort: { step: 1 }, projection: { events: 1 }, batchSize: 16 },
    );
    try {
      for await (const step of cursor) if (take(JSON.parse(step.events) as ServerEvent[])) return out;
    } finally {
      await cursor.close();
    }
    if (!Number.isFinite(limit)) return out;
    const crossing = await this.database.log.findOne(
      { ...fields(t, chatId), last_seq: { $gt: afterSeq + limit } },
      { sort: { step: 1 }, projection: { events: 1 } },
    );
    if (crossing) take(JSON.parse(crossing.events) as ServerEvent[]);
    return out;
  }

  async prefetch(t: Tenant, chatId: string, previous?: ChatWriter): Promise<LogPrefetch> {
    const after = previous && sameChat(previous.lease, t, chatId) ? previous.position : 0;
    const [steps, chat] = await Promise.all([
      this.stepsAfter(t, chatId, after),
      after > 0 ? undefined : this.database.chats.findOne({ _id: chatKey(fields(t, chatId)) }),
    ]);
    return new MongoPrefetch(t, chatId, after, steps, chat);
  }

  /**
   * The steps after `after`, oldest first. Steps are numbered without gaps, so when the next one
   * is missing there are none: that case, the usual one for a writer carried over, costs a lookup
   * by id (the cheapest read on any MongoDB-compatible server).
   */
  private async stepsAfter(t: Tenant, chatId: string, after: number): Promise<StepDoc[]> {
    const key = fields(t, chatId);
    const range = (from: number) =>
      this.database.log
        .find({ ...key, step: { $gt: from } }, { sort: { step: 1 }, projection: WITHOUT_EVENTS })
        .toArray();
    if (after === 0) return range(0);
    const next = await this.database.log.findOne(
      { _id: `${chatKey(key)}/${after + 1}` },
      { projection: WITHOUT_EVENTS },
    );
    return next ? [next, ...(await range(after + 1))] : [];
  }

  async openWriter(lease: Lease, workflowId: string, basis: WriterBasis = {}): Promise<ChatWriter> {
    const t = lease.tenant;
    const key = fields(t, lease.chatId);
    const carried = TrackedWriter.takeState(basis.previous, lease);
    const after = carried?.position ?? 0;
    const ahead = basis.prefetched;
    // A read made ahead is used when it started where this writer's knowledge ends.
    const usable =
      ahead instanceof MongoPrefetch &&
      sameChat({ tenant: ahead.tenant, chatId: ahead.chatId }, t, lease.chatId) &&
      ahead.after === after
        ? ahead
        : undefined;
    const [steps, chatDoc] = usable
      ? [[...usable.steps], usable.chat]
      : await Promise.all([
          this.stepsAfter(t, lease.chatId, after),
          carried ? undefined : this.database.chats.findOne({ _id: chatKey(key) }),
        ]);
    // The previous holder may have committed after the read: it said how far it got.
    const lastRead = steps.at(-1)?.step ?? after;
    if (!lease.takeover && lastRead < lease.position) steps.push(...(await this.stepsAfter(t, lease.chatId, lastRead)));
    // A holder of this epoch or a newer one has written (or fenced) already: this lease was lost
    // before it was used, or its epoch is not the newest (a server that lost an update of the
    // lease document can hand out an epoch twice).
    if (Math.max(carried?.epoch ?? 0, ...steps.map((s) => s.epoch)) >= lease.epoch) throw new LeaseLostError(lease);
    const chat = carried ? undefined : (chatDoc ?? (await ensureChat(this.database.chats, key, workflowId)));
    const state: WriterState = carried ?? {
      chat: record(chat!, EMPTY_HEAD),
      messages: [],
      inputsDone: 0,
      unfinishedRun: undefined,
      position: 0,
      epoch: 0,
    };
    fold(state, steps);
    if (lease.takeover) await this.fence(lease, state);
    return new TrackedWriter(lease, state, async (step, current) => {
      const { doc, events } = nextStep(lease, headOf(current), step);
      try {
        await this.database.log.insertOne(doc);
      } catch (error) {
        if (isDuplicateKey(error)) throw new LeaseLostError(lease, { cause: error });
        throw error;
      }
      if (step.run?.usage) this.database.noteUsageStep(chatKey(key), step.run.usage.event_id, doc._id);
      return { events, position: doc.step };
    });
  }

  /**
   * Fences off the previous holder: it writes at the step after the last one it saw, which from
   * now on is taken. A step it landed meanwhile is history, read before fencing again.
   */
  private async fence(lease: Lease, state: WriterState): Promise<void> {
    for (;;) {
      const head = headOf(state);
      try {
        await this.database.log.insertOne(
          stepDoc(lease, head, {
            step: head.step + 1,
            fence: true,
            ...(head.awaiting ? { awaiting: head.awaiting } : {}),
          }),
        );
        state.position = head.step + 1;
        state.epoch = lease.epoch;
        // Recorded on the lease, so that it can be handed on as released: the next holder need not fence.
        await this.database.leases.updateOne(
          { _id: chatKey(fields(lease.tenant, lease.chatId)), holder: lease.holder, epoch: lease.epoch },
          { $set: { fenced: lease.epoch } },
        );
        return;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        const landed = await this.stepsAfter(lease.tenant, lease.chatId, head.step);
        if (landed.some((s) => s.epoch >= lease.epoch)) throw new LeaseLostError(lease, { cause: error });
        fold(state, landed);
      }
    }
  }
}

function sameChat(lease: Pick<Lease, 'tenant' | 'chatId'>, t: Tenant, chatId: string): boolean {
  return lease.chatId === chatId && lease.tenant.app_id === t.app_id && lease.tenant.user_id === t.user_id;
}

function record(chat: ChatDoc, head: Head): ChatRecord {
  return {
    app_id: chat.app_id,
    user_id: chat.user_id,
    chat_id: chat.chat_id,
    workflow_id: chat.workflow_id,
    created_at: chat.created_at,
    last_seq: head.last_seq,
    inputs_done: head.inputs_done,
    ...(head.context ? { context: head.context } : {}),
    ...(head.awaiting ? { awaiting: head.awaiting } : {}),
    ...(head.workflow_version ? { workflow_version: head.workflow_version } : {}),
  };
}

/** The chat's state as a stored step left it. */
function headOfStep(
  doc: Pick<StepDoc, 'step' | 'last_seq' | 'inputs_done' | 'context' | 'awaiting' | 'workflow_version'>,
): Head {
  return {
    step: doc.step,
    last_seq: doc.last_seq,
    inputs_done: doc.inputs_done,
    ...(doc.context ? { context: JSON.parse(doc.context) as Record<string, unknown> } : {}),
    ...(doc.awaiting ? { awaiting: doc.awaiting } : {}),
    ...(doc.workflow_version ? { workflow_version: doc.workflow_version } : {}),
  };
}

/** The head of the log as `state` knows it: what the next step carries forward. */
function headOf(state: WriterState): Head {
  return {
    step: state.position,
    last_seq: state.chat.last_seq,
    inputs_done: state.inputsDone,
    ...(state.chat.context ? { context: state.chat.context } : {}),
    ...(state.chat.awaiting ? { awaiting: state.chat.awaiting } : {}),
    ...(state.chat.workflow_version ? { workflow_version: state.chat.workflow_version } : {}),
  };
}

/** Brings `state` forward over stored steps, oldest first (each carries the chat's state after it). */
function fold(state: WriterState, steps: readonly StepDoc[]): void {
  let open = state.unfinishedRun ? { ...state.unfinishedRun, calls: [...state.unfinishedRun.calls] } : undefined;
  for (const step of steps) {
    if (step.messages !== NO_ENTRIES) state.messages.push(...(JSON.parse(step.messages) as StoredMessage[]));
    const { run } = step;
    if (run) {
      if (open?.run_id !== run.run_id) open = { run_id: run.run_id, input_seq: run.input_seq, calls: [] };
      open.calls.push(...(run.calls as unknown as LlmCallUsage[]));
      if (run.finish) open = undefined;
    }
  }
  state.unfinishedRun = open;
  state.epoch = Math.max(state.epoch, ...steps.map((s) => s.epoch));
  const last = steps.at(-1);
  if (!last) return;
  const head = headOfStep(last);
  const { awaiting: _old, context: _context, ...chat } = state.chat;
  state.chat = {
    ...chat,
    last_seq: head.last_seq,
    inputs_done: head.inputs_done,
    ...(head.context ? { context: head.context } : {}),
    ...(head.awaiting ? { awaiting: head.awaiting } : {}),
    ...(head.workflow_version ? { workflow_version: head.workflow_version } : {}),
  };
  state.inputsDone = head.inputs_done;
  state.position = head.step;
}

/** The step document for `step` after `head`, with the events given their seqs. */
function nextStep(lease: Lease, head: Head, step: LogStep): { doc: StepDoc; events: ServerEvent[] } {
  const run = step.run;
  const drafts = [...(step.events ?? []), ...(run?.usage ? [run.usage] : [])];
  const events = drafts.map((e, i) => ({ ...e, seq: head.last_seq + 1 + i }));
  const usage = run?.usage ? events.at(-1) : undefined;
  const doc = stepDoc(lease, head, {
    step: head.step + 1,
    last_seq: head.last_seq + events.length,
    events: events.length ? JSON.stringify(events) : NO_ENTRIES,
    messages: step.messages?.length ? JSON.stringify(step.messages) : NO_ENTRIES,
    ...(step.context ? { context: JSON.stringify(step.context) } : {}),
    ...(step.awaitInput ? { awaiting: step.awaitInput } : {}),
    ...(step.workflowVersion ? { workflow_version: step.workflowVersion } : {}),
    ...(run?.finish ? { inputs_done: Math.max(head.inputs_done, run.input_seq) } : {}),
    ...(run
      ? {
          run: {
            run_id: run.run_id,
            input_seq: run.input_seq,
            workflow_id: run.workflow_id,
            calls: [...(run.calls ?? [])] as Record<string, unknown>[],
            ...(run.finish ? { finish: run.finish } : {}),
          },
        }
      : {}),
    ...(usage ? { usage: usage, usage_pending: true as const } : {}),
  });
  return { doc, events };
}

/** A step document carrying the head's state forward, with `changes` applied. */
function stepDoc(lease: Lease, head: Head, changes: Partial<StepDoc> & { step: number }): StepDoc {
  const key = fields(lease.tenant, lease.chatId);
  const doc: StepDoc = {
    _id: `${chatKey(key)}/${changes.step}`,
    ...key,
    epoch: lease.epoch,
    holder: lease.holder,
    created_at: new Date(),
    last_seq: head.last_seq,
    events: NO_ENTRIES,
    messages: NO_ENTRIES,
    inputs_done: head.inputs_done,
    ...(head.context ? { context: JSON.stringify(head.context) } : {}),
    ...(head.workflow_version ? { workflow_version: head.workflow_version } : {}),
    ...changes,
  };
  if (doc.awaiting === undefined) delete doc.awaiting;
  return doc;
}
