// The ChatInbox on MongoDB, without multi-document transactions.
//
// Inputs: one document each, numbered 1, 2, 3… per chat under a unique index. The gateway inserts
// at the number after the newest input it knows of (remembered from its last accept on the chat,
// else read) and reads again when another gateway took it, so input k is always stored before
// k + 1 can be: runs follow the order inputs were accepted in. A second unique index on the request
// id makes accepting the same request twice store it once. An accept is one insert when this
// process accepted the chat's previous input.
// Lease: one document per chat, taken by one conditional find-and-modify (which also returns what
// the previous holder reported) and renewed and released by single-document updates; each
// acquisition increments its epoch. A refused acquire notes that the chat is wanted, in a document
// of its own beside the lease, and the release that finds the note (after letting go) says so. Usage outbox: the flag on the step that holds the usage event.
import type { Tenant, UsageUpdateEvent } from '@mozaiks/protocol';
import type { ChatRef } from '../chat-log.js';
import type { Accepted, ChatInbox, NewInput, PendingInput, UsageMark } from '../chat-inbox.js';
import type { Lease, LeaseProgress } from '../lease.js';
import { chatKey, ensureChat, isDuplicateKey } from './mongo-database.js';
import type { ChatKeyFields, InputDoc, MongoDatabase } from './mongo-database.js';

function fields(t: Tenant, chatId: string): ChatKeyFields {
  return { app_id: t.app_id, user_id: t.user_id, chat_id: chatId };
}

function toInput(doc: InputDoc): PendingInput {
  return { ...(JSON.parse(doc.body) as NewInput), input_seq: doc.input_seq };
}

/** A remembered input number of a chat that was erased meanwhile: read where the chat is again. */
class ChatGoneError extends Error {}

/** Chats whose next input number this process remembers. */
const REMEMBERED_CHATS = 10_000;

export class MongoChatInbox implements ChatInbox {
  /** The number the next input of a chat takes, as far as this process knows (a guess: the unique index decides). */
  private readonly nextInput = new Map<string, number>();

  constructor(private readonly database: MongoDatabase) {}

  async accept(t: Tenant, chatId: string, input: NewInput): Promise<Accepted> {
    const { inputs } = this.database;
    const key = fields(t, chatId);
    const id = chatKey(key);
    let seq = this.nextInput.get(id);
    for (let tries = 0; ; tries++) {
      if (seq === undefined) {
        // Nothing known, or the guess was taken: read where the chat is.
        const [same, newest] = await Promise.all([
          inputs.findOne({ ...key, request_id: input.request_id }),
          inputs.findOne(key, { sort: { input_seq: -1 }, projection: { input_seq: 1 } }),
        ]);
        this.remember(id, (newest?.input_seq ?? 0) + 1);
        if (same) return { input: toInput(same), created: false };
        seq = (newest?.input_seq ?? 0) + 1;
      }
      try {
        return await this.insertAt(key, seq, input);
      } catch (error) {
        // Another request took this number, or this request was accepted before, or the chat was erased.
        if (!(isDuplicateKey(error) || error instanceof ChatGoneError) || tries > 100) throw error;
        seq = undefined;
      }
    }
  }

  async acceptIfIdle(t: Tenant, chatId: string, input: NewInput, next: number): Promise<Accepted | undefined> {
    const key = fields(t, chatId);
    try {
      return await this.insertAt(key, next, input);
    } catch (error) {
      // Erased meanwhile: its inputs are gone, so `next` is not the number this input must have.
      if (error instanceof ChatGoneError) return undefined;
      if (!isDuplicateKey(error)) throw error;
      const same = await this.database.inputs.findOne({ ...key, request_id: input.request_id });
      return same ? { input: toInput(same), created: false } : undefined;
    }
  }

  /** Stores `input` as number `seq`; a duplicate-key error when the number or the request is taken. */
  private async insertAt(
    key: ChatKeyFields,
    seq: number,
    input: NewInput,
  ): Promise<{ input: PendingInput; created: true }> {
    const id = chatKey(key);
    const now = new Date();
    // The chat is created with its first input, so any chat with inputs has its document; a later
    // input moves its last activity on (beside the insert: no round trip more).
    if (seq === 1) await ensureChat(this.database.chats, key, input.workflow_id);
    const [, moved] = await Promise.all([
      this.database.inputs.insertOne({
        _id: `${id}/${seq}`,
        ...key,
        input_seq: seq,
        request_id: input.request_id,
        body: JSON.stringify(input),
        accepted_at: now,
        pending: true,
      }),
      seq > 1 ? this.database.chats.updateOne({ _id: id }, { $max: { last_input_at: now.toISOString() } }) : undefined,
    ]);
    if (moved?.matchedCount === 0) {
      // The chat was erased since its number was remembered (here or in the process that guessed
      // it): this input would follow inputs that are gone. Taken back; the chat starts again at 1.
      await this.database.inputs.deleteOne({ _id: `${id}/${seq}` });
      this.nextInput.delete(id);
      throw new ChatGoneError();
    }
    this.remember(id, seq + 1);
    return { input: { ...input, input_seq: seq }, created: true };
  }

  private remember(id: string, next: number): void {
    this.nextInput.delete(id);
    this.nextInput.set(id, next);
    if (this.nextInput.size > REMEMBERED_CHATS) this.nextInput.delete(this.nextInput.keys().next().value!);
  }

  async pending(t: Tenant, chatId: string, afterSeq: number, limit = 64): Promise<PendingInput[]> {
    const key = fields(t, chatId);
    // Inputs are numbered without gaps: the next one alone is a lookup by id.
    if (limit === 1) {
      const next = await this.database.inputs.findOne({ _id: `${chatKey(key)}/${afterSeq + 1}` });
      return next ? [toInput(next)] : [];
    }
    const docs = await this.database.inputs
      .find({ ...key, input_seq: { $gt: afterSeq } }, { sort: { input_seq: 1 }, limit })
      .toArray();
    return docs.map(toInput);
  }

  async acquire(t: Tenant, chatId: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    const { leases } = this.database;
    const key = fields(t, chatId);
    const _id = chatKey(key);
    for (let tries = 0; tries < 5; tries++) {
      const now = Date.now();
      try {
        // Free (released or expired) or absent: take it, and see what the previous holder left.
        const before = await leases.findOneAndUpdate(
          { _id, $or: [{ released: true }, { expires_at: { $lte: now } }] },
          { $set: { ...key, holder, expires_at: now + ttlMs, released: false }, $inc: { epoch: 1 } },
          { upsert: true, returnDocument: 'before' },
        );
        if (!before) return { tenant: t, chatId, holder, epoch: 1, takeover: false, inputsDone: 0, position: 0 };
        const takeover = !before.released;
        return {
          tenant: t,
          chatId,
          holder,
          epoch: before.epoch + 1,
          takeover,
          inputsDone: before.inputs_done ?? 0,
          position: takeover ? 0 : (before.position ?? 0),
        };
      } catch (error) {
        // The upsert found the document held by someone else.
        if (!isDuplicateKey(error)) throw error;
      }
      // Noted before the lease is looked at again: a holder that lets go after this look finds the note.
      await this.database.leaseWants
        .updateOne({ _id }, { $set: { at: Date.now() } }, { upsert: true })
        .catch((error) => {
          // Another refused acquire made the note at the same moment: it is there.
          if (!isDuplicateKey(error)) throw error;
        });
      const held = await leases.countDocuments({ _id, released: false, expires_at: { $gt: Date.now() } }, { limit: 1 });
      if (held === 1) return undefined;
      // Let go in between: try again.
    }
    return undefined;
  }

  async renew(leases: readonly Lease[], ttlMs: number): Promise<boolean[]> {
    if (leases.length === 0) return [];
    const held = (l: Lease) => ({
      _id: chatKey(fields(l.tenant, l.chatId)),
      holder: l.holder,
      epoch: l.epoch,
      released: false,
    });
    const result = await this.database.leases.updateMany(
      { $or: leases.map(held) },
      { $set: { expires_at: Date.now() + ttlMs } },
    );
    if (result.matchedCount === leases.length) return leases.map(() => true);
    // Some were taken over or let go: find which (one more round trip, only then).
    const docs = await this.database.leases
      .find(
        { _id: { $in: leases.map((l) => chatKey(fields(l.tenant, l.chatId))) } },
        { projection: { holder: 1, epoch: 1, released: 1 } },
      )
      .toArray();
    const byId = new Map(docs.map((d) => [d._id, d]));
    return leases.map((l) => {
      const doc = byId.get(chatKey(fields(l.tenant, l.chatId)));
      return doc !== undefined && doc.holder === l.holder && doc.epoch === l.epoch && !doc.released;
    });
  }

  async release(lease: Lease, progress: LeaseProgress): Promise<{ wanted: boolean }> {
    const key = fields(lease.tenant, lease.chatId);
    const { inputsDone, position } = progress;
    const _id = chatKey(key);
    const handOn = async () => {
      const released = { $set: { released: true, position }, $max: { inputs_done: inputsDone } };
      // A lease taken over is released only once its holder fenced off the one before; else it is
      // handed on as expired, and the next holder fences.
      const before = await this.database.leases.findOneAndUpdate(
        { _id, holder: lease.holder, epoch: lease.epoch, ...(lease.takeover ? { fenced: lease.epoch } : {}) },
        released,
        { returnDocument: 'before' },
      );
      if (before || !lease.takeover) return before;
      return this.database.leases.findOneAndUpdate(
        { _id, holder: lease.holder, epoch: lease.epoch },
        { $set: { expires_at: 0, position }, $max: { inputs_done: inputsDone } },
        { returnDocument: 'before' },
      );
    };
    // Let go first, then read the notes: an acquire refused before the lease was free noted the
    // chat before this read; one refused after it finds the lease free and takes it.
    // A lease another holder took is theirs, and so are the notes.
    const letGo = async () => ((await handOn()) ? this.database.leaseWants.findOneAndDelete({ _id }) : null);
    const [want] = await Promise.all([letGo(), this.clearPending(key, lease.inputsDone, inputsDone)]);
    return { wanted: want !== null };
  }

  /** Takes inputs up to `done` off the recovery sweep's list; those after `from` by id when they are few. */
  private async clearPending(key: ChatKeyFields, from: number, done: number): Promise<void> {
    // Nothing ran under this lease: the holders before cleared theirs (or the sweep does).
    if (done <= from) return;
    const { inputs } = this.database;
    const unset = { $unset: { pending: '' } } as const;
    if (done - from <= 8) {
      const ids = Array.from({ length: done - from }, (_, i) => `${chatKey(key)}/${from + 1 + i}`);
      await Promise.all(ids.map((_id) => inputs.updateOne({ _id, pending: true }, unset)));
      return;
    }
    await inputs.updateMany({ ...key, pending: true, input_seq: { $lte: done } }, unset);
  }

  async unpublishedUsage(t: Tenant, chatId: string): Promise<UsageUpdateEvent[]> {
    const key = fields(t, chatId);
    const steps = await this.database.log
      .find({ ...key, usage_pending: true }, { sort: { step: 1 }, projection: { usage: 1 } })
      .toArray();
    const events = steps.map((s) => s.usage as unknown as UsageUpdateEvent);
    steps.forEach((s, i) => this.database.noteUsageStep(chatKey(key), events[i]!.event_id, s._id));
    return events;
  }

  async markUsagePublished(marks: readonly UsageMark[]): Promise<void> {
    if (marks.length === 0) return;
    const known = marks.map((m) => `${chatKey(fields(m.tenant, m.chatId))}\u0000${m.eventId}`);
    const updates = marks.map((m, i) => {
      const stepId = this.database.usageSteps.get(known[i]!);
      const filter = stepId
        ? { _id: stepId, usage_pending: true as const }
        : { ...fields(m.tenant, m.chatId), usage_pending: true as const, 'usage.event_id': m.eventId };
      return { updateOne: { filter, update: { $unset: { usage_pending: '' as const } } } };
    });
    // One round trip for every chat's marks; each is its own update, so the order does not matter.
    await this.database.log.bulkWrite(updates, { ordered: false });
    for (const k of known) this.database.usageSteps.delete(k);
  }

  async chatsWithWork(): Promise<ChatRef[]> {
    const { inputs, log, leases, chats } = this.database;
    const projection = { app_id: 1, user_id: 1, chat_id: 1 } as const;
    const [waiting, unpublished] = await Promise.all([
      inputs.find({ pending: true }, { projection: { ...projection, input_seq: 1 } }).toArray(),
      log.find({ usage_pending: true }, { projection }).toArray(),
    ]);
    const keys = [...new Set([...waiting, ...unpublished].map((d) => chatKey(d)))];
    if (keys.length === 0) return [];
    const now = Date.now();
    const found = await leases.find({ _id: { $in: keys } }).toArray();
    const byChat = new Map(found.map((l) => [l._id, l]));
    const held = new Set(found.filter((l) => !l.released && l.expires_at > now).map((l) => l._id));
    const owed = new Set(unpublished.map((d) => chatKey(d)));
    // An input still flagged though a holder reported it done (its release was cut short) is not work.
    const newest = new Map<string, number>();
    for (const i of waiting) newest.set(chatKey(i), Math.max(newest.get(chatKey(i)) ?? 0, i.input_seq));
    const stale = [...newest].filter(([k, seq]) => !held.has(k) && seq <= (byChat.get(k)?.inputs_done ?? 0));
    await Promise.all(
      stale.map(([k]) => {
        const [app_id, user_id, chat_id] = k.split('/') as [string, string, string];
        return inputs.updateMany({ app_id, user_id, chat_id, pending: true }, { $unset: { pending: '' } });
      }),
    );
    const staleKeys = new Set(stale.map(([k]) => k));
    const free = keys.filter((k) => !held.has(k) && (owed.has(k) || !staleKeys.has(k)));
    if (free.length === 0) return [];
    const docs = await chats.find({ _id: { $in: free } }).toArray();
    return docs.map((c) => ({ app_id: c.app_id, user_id: c.user_id, chat_id: c.chat_id, workflow_id: c.workflow_id }));
  }
}
