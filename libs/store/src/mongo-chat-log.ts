// The ChatLog on MongoDB, without multi-document transactions.
//
// Atomicity: one committed step is one document in `log` (its messages, its events with their
// seqs, the run's calls and end, the usage event, and the chat's state after it). A reader sees a
// step whole or not at all; a crash leaves nothing half-written.
// Ordering and fencing: steps are numbered 1, 2, 3… per chat under a unique index. A writer
// appends at the number after the last step it read; if another writer took that number, the
// insert fails and the write is refused. A holder that takes a lease over from one that never
// released it first inserts a fence step at the next number, so the old holder, which still
// writes at that number, can no longer land anything; and a writer that finds a newer epoch in the
// log when it opens refuses to write at all. Steps therefore carry non-decreasing epochs.
import type { LlmCallUsage, ServerEvent, Tenant } from '@mozaiks/protocol';
import { LeaseLostError } from './chat-log.js';
import type { ChatLog, ChatRecord, ChatWriter, LogStep, StoredMessage, UnfinishedRun } from './chat-log.js';
import type { Lease } from './chat-inbox.js';
import { chatKey, ensureChat, isDuplicateKey } from './mongo-database.js';
import type { MongoDatabase, StepDoc } from './mongo-database.js';
import { TrackedWriter } from './tracked-writer.js';
import type { WriterState } from './tracked-writer.js';

type Head = Pick<StepDoc, 'step' | 'last_seq' | 'context' | 'awaiting' | 'inputs_done'>;
const EMPTY_HEAD: Head = { step: 0, last_seq: 0, inputs_done: 0 };
/** Steps without their events: what a writer or a history reader needs. */
const WITHOUT_EVENTS = { events: 0 } as const;

function fields(t: Tenant, chatId: string) {
  return { app_id: t.app_id, user_id: t.user_id, chat_id: chatId };
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
    return record(chat.workflow_id, chat.created_at, key, head ?? EMPTY_HEAD);
  }

  async listMessages(t: Tenant, chatId: string): Promise<StoredMessage[]> {
    const steps = await this.database.log.find({ ...fields(t, chatId), 'messages.0': { $exists: true } }, { sort: { step: 1 }, projection: { messages: 1 } }).toArray();
    return steps.flatMap((s) => s.messages);
  }

  async listEvents(t: Tenant, chatId: string, afterSeq = 0, limit = Infinity): Promise<ServerEvent[]> {
    const cursor = this.database.log.find({ ...fields(t, chatId), last_seq: { $gt: afterSeq } }, { sort: { step: 1 }, projection: { events: 1 } });
    const out: ServerEvent[] = [];
    try {
      for await (const step of cursor) {
        for (const event of step.events as ServerEvent[]) {
          if (event.seq! > afterSeq) out.push(event);
          if (out.length >= limit) return out;
        }
      }
    } finally {
      await cursor.close();
    }
    return out;
  }

  async openWriter(lease: Lease, workflowId: string): Promise<ChatWriter> {
    const key = fields(lease.tenant, lease.chatId);
    const [chat, steps] = await Promise.all([
      ensureChat(this.database.chats, key, workflowId),
      this.database.log.find(key, { sort: { step: 1 }, projection: WITHOUT_EVENTS }).toArray(),
    ]);
    let head: Head = steps.at(-1) ?? EMPTY_HEAD;
    // A newer holder has written (or fenced) already: this lease was lost before it was used.
    if ((steps.at(-1)?.epoch ?? 0) > lease.epoch) throw new LeaseLostError(lease);
    if (lease.takeover) {
      // Fence off the previous holder: it writes at the step after the last one it saw, which
      // from now on is taken. A step it landed meanwhile is history, read before fencing again.
      for (;;) {
        try {
          await this.database.log.insertOne(stepDoc(lease, head, { step: head.step + 1, fence: true, ...(head.awaiting ? { awaiting: head.awaiting } : {}) }));
          head = { ...head, step: head.step + 1 };
          break;
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          const landed = await this.database.log.find({ ...key, step: { $gt: head.step } }, { sort: { step: 1 }, projection: WITHOUT_EVENTS }).toArray();
          if (landed.some((s) => s.epoch > lease.epoch)) throw new LeaseLostError(lease, { cause: error });
          steps.push(...landed);
          head = steps.at(-1) ?? head;
        }
      }
    }
    const state: WriterState = {
      chat: record(chat.workflow_id, chat.created_at, key, head),
      messages: steps.flatMap((s) => s.messages),
      inputsDone: head.inputs_done,
      unfinishedRun: unfinishedRunOf(steps),
    };
    return new TrackedWriter(state, async (step) => {
      const { doc, events } = nextStep(lease, head, step);
      try {
        await this.database.log.insertOne(doc);
      } catch (error) {
        if (isDuplicateKey(error)) throw new LeaseLostError(lease, { cause: error });
        throw error;
      }
      head = doc;
      return events;
    });
  }
}

function record(workflowId: string, createdAt: string, key: ReturnType<typeof fields>, head: Head): ChatRecord {
  return {
    ...key,
    workflow_id: workflowId,
    created_at: createdAt,
    last_seq: head.last_seq,
    ...(head.context ? { context: head.context } : {}),
    ...(head.awaiting ? { awaiting: head.awaiting } : {}),
  };
}

/** The step document for `step` after `head`, with the events given their seqs. */
function nextStep(lease: Lease, head: Head, step: LogStep): { doc: StepDoc; events: ServerEvent[] } {
  const run = step.run;
  const drafts = [...(step.events ?? []), ...(run?.usage ? [run.usage] : [])];
  const events = drafts.map((e, i) => ({ ...e, seq: head.last_seq + 1 + i }) as ServerEvent);
  const usage = run?.usage ? events.at(-1) : undefined;
  const doc = stepDoc(lease, head, {
    step: head.step + 1,
    last_seq: head.last_seq + events.length,
    events: events as unknown as Record<string, unknown>[],
    messages: [...(step.messages ?? [])],
    ...(step.context ? { context: step.context } : {}),
    ...(step.awaitInput ? { awaiting: step.awaitInput } : {}),
    ...(run?.finish ? { inputs_done: Math.max(head.inputs_done, run.input_seq) } : {}),
    ...(run
      ? { run: { run_id: run.run_id, input_seq: run.input_seq, workflow_id: run.workflow_id, calls: [...(run.calls ?? [])] as Record<string, unknown>[], ...(run.finish ? { finish: run.finish } : {}) } }
      : {}),
    ...(usage ? { usage: usage as unknown as Record<string, unknown>, usage_pending: true as const } : {}),
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
    events: [],
    messages: [],
    inputs_done: head.inputs_done,
    ...(head.context ? { context: head.context } : {}),
    ...changes,
  };
  if (doc.awaiting === undefined) delete doc.awaiting;
  return doc;
}

/** The last run begun in `steps` and not finished, with the calls it made so far. */
function unfinishedRunOf(steps: readonly StepDoc[]): UnfinishedRun | undefined {
  let open: UnfinishedRun | undefined;
  for (const { run } of steps) {
    if (!run) continue;
    if (open?.run_id !== run.run_id) open = { run_id: run.run_id, input_seq: run.input_seq, calls: [] };
    open.calls.push(...(run.calls as unknown as LlmCallUsage[]));
    if (run.finish) open = undefined;
  }
  return open;
}
