// Test support: holders that commit to one chat while taking its lease from each other, stalling
// past it now and then so that another takes it over. Used by the contract's stress test (several
// connections in one process) and by the fencing test (several processes).
import type { Tenant } from '@mozaiks/protocol';
import type { Lease, LeaseProgress } from './lease';
import type { ChatWriter, NewEvent } from './chat-log';
import { LeaseLostError } from './lease';
import type { ChatStores } from './open-store';

export const CHURN_TENANT: Tenant = { app_id: 'app_1', user_id: 'ada' };
export const CHURN_CHAT = 'c1';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a writer's holder reports on release. */
export function progressOf(writer: ChatWriter): LeaseProgress {
  return { inputsDone: writer.inputsDone, position: writer.position };
}

/**
 * Takes the chat's lease (waiting while another holds it) and opens its writer, as an executor does:
 * the log read ahead of the lease, from the writer this holder had before when there is one.
 */
export async function writerFor(
  stores: ChatStores,
  t: Tenant,
  chatId: string,
  holder = 'exec-1',
  ttlMs = 10_000,
  previous?: ChatWriter,
): Promise<{ lease: Lease; writer: ChatWriter }> {
  for (let i = 0; ; i++) {
    const [lease, prefetched] = await Promise.all([
      stores.inbox.acquire(t, chatId, holder, ttlMs),
      stores.log.prefetch(t, chatId, previous),
    ]);
    if (lease) {
      try {
        return {
          lease,
          writer: await stores.log.openWriter(lease, 'wf', { ...(previous ? { previous } : {}), prefetched }),
        };
      } catch (error) {
        // Lost before it was used (another holder took over meanwhile): try again.
        if (!(error instanceof LeaseLostError)) throw error;
        previous = undefined;
      }
    }
    if (i > 2000) throw new Error('lease never became free');
    await sleep(5);
  }
}

export interface ChurnOptions {
  holder: string;
  commits: number;
  /** The lease's time to live. */
  ttlMs: number;
  /** Chance, per commit, that the holder stalls for 1.5 × ttlMs first. @default 0.02 */
  stallChance?: number;
  /** Chance, per commit, that the holder lets the chat go after it. @default 0.1 */
  releaseChance?: number;
  /** Called, holding the lease, with each writer opened and the log's messages: for checks. */
  onOpen?: (writer: ChatWriter) => Promise<void>;
}

export interface ChurnResult {
  /** Ids of the commits the store acknowledged. */
  acknowledged: string[];
  /** Commits refused because the lease had been taken over. */
  refused: number;
  /** Writers opened. */
  opened: number;
  /** Leases taken from a holder that never let go. */
  takeovers: number;
}

/** Commits `commits` times to the chat, each an event whose content is the epoch it was written under. */
export async function churn(stores: ChatStores, options: ChurnOptions): Promise<ChurnResult> {
  const { holder, commits, ttlMs, stallChance = 0.02, releaseChance = 0.1 } = options;
  const result: ChurnResult = { acknowledged: [], refused: 0, opened: 0, takeovers: 0 };
  let current: { lease: Lease; writer: ChatWriter } | undefined;
  // Each holder carries its last writer over, as an executor does.
  let previous: ChatWriter | undefined;
  for (let i = 0; i < commits;) {
    if (!current) {
      current = await writerFor(stores, CHURN_TENANT, CHURN_CHAT, holder, ttlMs, previous);
      result.opened++;
      if (current.lease.takeover) result.takeovers++;
      await options.onOpen?.(current.writer);
    }
    // Now and then a holder stalls past its lease, and another takes the chat over.
    if (Math.random() < stallChance) await sleep(ttlMs * 1.5);
    const id = `${holder}-${i}`;
    const held = current;
    try {
      const event = {
        type: 'agent_message',
        chat_id: CHURN_CHAT,
        event_id: id,
        timestamp: new Date().toISOString(),
        run_id: 'r1',
        agent: 'A',
        content: String(held.lease.epoch),
      } as NewEvent;
      await held.writer.append({ messages: [{ role: 'user', content: id }], events: [event] });
      result.acknowledged.push(id);
      i++;
      if (Math.random() < releaseChance) {
        await stores.inbox.release(held.lease, progressOf(held.writer));
        previous = held.writer;
        current = undefined;
      }
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw error;
      result.refused++;
      previous = held.writer;
      current = undefined;
    }
  }
  if (current) await stores.inbox.release(current.lease, progressOf(current.writer));
  return result;
}

/** The chat's log after a churn: seqs, event ids, the epochs they were written under, and the messages. */
export async function readChurn(
  stores: ChatStores,
): Promise<{ seqs: number[]; ids: string[]; epochs: number[]; messages: string[] }> {
  const events = await stores.log.listEvents(CHURN_TENANT, CHURN_CHAT);
  return {
    seqs: events.map((e) => e.seq!),
    ids: events.map((e) => e.event_id),
    epochs: events.map((e) => Number((e as { content: string }).content)),
    messages: (await stores.log.listMessages(CHURN_TENANT, CHURN_CHAT)).map((m) => String(m.content)),
  };
}

/**
 * Checks the chat's log after holders churned it (jest's `expect`): exactly what was acknowledged,
 * numbered 1..N without a gap, each once, with its message, in the order of the epochs it was
 * written under (a holder whose lease was taken over never landed a write after its successor's).
 * Returns the log and the holders' totals.
 */
export async function expectChurnedLog(
  stores: ChatStores,
  results: readonly ChurnResult[],
): Promise<{ epochs: number; refused: number; opened: number; takeovers: number }> {
  const log = await readChurn(stores);
  const acknowledged = results.flatMap((r) => r.acknowledged);
  expect(log.seqs).toEqual(Array.from({ length: acknowledged.length }, (_, i) => i + 1));
  expect([...log.ids].sort()).toEqual([...acknowledged].sort());
  expect(log.messages).toEqual(log.ids);
  expect(log.epochs).toEqual([...log.epochs].sort((x, y) => x - y));
  const total = (field: 'refused' | 'opened' | 'takeovers') => results.reduce((n, r) => n + r[field], 0);
  return {
    epochs: new Set(log.epochs).size,
    refused: total('refused'),
    opened: total('opened'),
    takeovers: total('takeovers'),
  };
}
