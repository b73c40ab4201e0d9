// The ChatInbox on MongoDB, without multi-document transactions.
//
// Inputs: one document each, numbered 1, 2, 3… per chat under a unique index. The gateway inserts
// at the number after the newest input it read and reads again when another gateway took it, so
// input k is always stored before k + 1 can be: runs follow the order inputs were accepted in. A
// second unique index on the request id makes accepting the same request twice store it once.
// Lease: one document per chat, taken and renewed by single-document conditional updates; each
// acquisition increments its epoch. Usage outbox: the flag on the step that holds the usage event.
import type { Tenant, UsageUpdateEvent } from '@mozaiks/protocol';
import type { ChatRef } from './chat-log.js';
import type { ChatInbox, Lease, NewInput, PendingInput } from './chat-inbox.js';
import { chatKey, ensureChat, isDuplicateKey } from './mongo-database.js';
import type { ChatKeyFields, InputDoc, MongoDatabase } from './mongo-database.js';

function fields(t: Tenant, chatId: string): ChatKeyFields {
  return { app_id: t.app_id, user_id: t.user_id, chat_id: chatId };
}

function toInput(doc: InputDoc): PendingInput {
  return { ...(doc.body as unknown as NewInput), input_seq: doc.input_seq };
}

export class MongoChatInbox implements ChatInbox {
  constructor(private readonly database: MongoDatabase) {}

  async accept(t: Tenant, chatId: string, input: NewInput): Promise<{ input: PendingInput; created: boolean }> {
    const { inputs, chats } = this.database;
    const key = fields(t, chatId);
    const [existing, newest] = await Promise.all([
      inputs.findOne({ ...key, request_id: input.request_id }),
      inputs.findOne(key, { sort: { input_seq: -1 }, projection: { input_seq: 1 } }),
      ensureChat(chats, key, input.workflow_id),
    ]);
    if (existing) return { input: toInput(existing), created: false };
    let seq = (newest?.input_seq ?? 0) + 1;
    for (let tries = 0; ; tries++) {
      try {
        await inputs.insertOne({ _id: `${chatKey(key)}/${seq}`, ...key, input_seq: seq, request_id: input.request_id, body: { ...input }, accepted_at: new Date(), pending: true });
        return { input: { ...input, input_seq: seq }, created: true };
      } catch (error) {
        if (!isDuplicateKey(error) || tries > 100) throw error;
        // Another request took this number, or this request was accepted meanwhile.
        const [same, latest] = await Promise.all([
          inputs.findOne({ ...key, request_id: input.request_id }),
          inputs.findOne(key, { sort: { input_seq: -1 }, projection: { input_seq: 1 } }),
        ]);
        if (same) return { input: toInput(same), created: false };
        seq = (latest?.input_seq ?? 0) + 1;
      }
    }
  }

  async pending(t: Tenant, chatId: string, afterSeq: number, limit = 64): Promise<PendingInput[]> {
    const docs = await this.database.inputs.find({ ...fields(t, chatId), input_seq: { $gt: afterSeq } }, { sort: { input_seq: 1 }, limit }).toArray();
    return docs.map(toInput);
  }

  async acquire(t: Tenant, chatId: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    const { leases } = this.database;
    const key = fields(t, chatId);
    const _id = chatKey(key);
    const now = Date.now();
    // Read, then compare-and-set on everything read: only single-document updates need be atomic.
    const seen = await leases.findOne({ _id });
    if (seen && !seen.released && seen.expires_at > now) return undefined;
    const lease = (epoch: number): Lease => ({ tenant: t, chatId, holder, epoch, takeover: seen ? !seen.released : false, inputsDone: seen?.inputs_done ?? 0 });
    if (!seen) {
      try {
        await leases.insertOne({ _id, ...key, holder, epoch: 1, expires_at: now + ttlMs, released: false });
        return lease(1);
      } catch (error) {
        if (isDuplicateKey(error)) return undefined;
        throw error;
      }
    }
    const taken = await leases.updateOne(
      { _id, epoch: seen.epoch, expires_at: seen.expires_at, released: seen.released },
      { $set: { holder, epoch: seen.epoch + 1, expires_at: now + ttlMs, released: false } },
    );
    return taken.matchedCount === 1 ? lease(seen.epoch + 1) : undefined;
  }

  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    const result = await this.database.leases.updateOne(
      { _id: chatKey(fields(lease.tenant, lease.chatId)), holder: lease.holder, epoch: lease.epoch, released: false },
      { $set: { expires_at: Date.now() + ttlMs } },
    );
    return result.matchedCount === 1;
  }

  async release(lease: Lease, inputsDone: number): Promise<void> {
    const key = fields(lease.tenant, lease.chatId);
    await Promise.all([
      // A lease taken over is handed on as expired rather than released: should its holder not
      // have fenced the previous one, the next holder does.
      this.database.leases.updateOne(
        { _id: chatKey(key), holder: lease.holder, epoch: lease.epoch },
        { $set: lease.takeover ? { expires_at: 0 } : { released: true }, $max: { inputs_done: inputsDone } },
      ),
      inputsDone > 0 ? this.database.inputs.updateMany({ ...key, pending: true, input_seq: { $lte: inputsDone } }, { $unset: { pending: '' } }) : undefined,
    ]);
  }

  async unpublishedUsage(t: Tenant, chatId: string): Promise<UsageUpdateEvent[]> {
    const steps = await this.database.log.find({ ...fields(t, chatId), usage_pending: true }, { sort: { step: 1 }, projection: { usage: 1 } }).toArray();
    return steps.map((s) => s.usage as unknown as UsageUpdateEvent);
  }

  async markUsagePublished(t: Tenant, chatId: string, eventId: string): Promise<void> {
    await this.database.log.updateOne({ ...fields(t, chatId), usage_pending: true, 'usage.event_id': eventId }, { $unset: { usage_pending: '' } });
  }

  async chatsWithWork(): Promise<ChatRef[]> {
    const { inputs, log, leases, chats } = this.database;
    const projection = { app_id: 1, user_id: 1, chat_id: 1 } as const;
    const [waiting, unpublished] = await Promise.all([inputs.find({ pending: true }, { projection }).toArray(), log.find({ usage_pending: true }, { projection }).toArray()]);
    const keys = [...new Set([...waiting, ...unpublished].map((d) => chatKey(d)))];
    if (keys.length === 0) return [];
    const now = Date.now();
    const held = new Set((await leases.find({ _id: { $in: keys }, released: false, expires_at: { $gt: now } }, { projection: { _id: 1 } }).toArray()).map((l) => l._id));
    const free = keys.filter((k) => !held.has(k));
    if (free.length === 0) return [];
    const docs = await chats.find({ _id: { $in: free } }).toArray();
    return docs.map((c) => ({ app_id: c.app_id, user_id: c.user_id, chat_id: c.chat_id, workflow_id: c.workflow_id }));
  }
}
