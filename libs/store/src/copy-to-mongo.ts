// Copies every chat of an embedded SQLite store into MongoDB: its history, events, context, open
// input request, inputs, the run left unfinished and the usage not yet published. Every document
// written has an id derived from the source, and existing ones are left alone, so a copy that was
// cut short is finished by running it again, and a finished one changes nothing.
import type { InputDoc, MongoDatabase, StepDoc } from './mongo/mongo-database.js';
import { NO_ENTRIES, chatKey, isDuplicateKey } from './mongo/mongo-database.js';
import type { ChatRow as SqliteChatRow } from './sqlite/sqlite-chat-log.js';
import type { SqliteDatabase } from './sqlite/sqlite-database.js';

export interface CopyCounts {
  chats: number;
  /** Chats left alone because the target already has history of its own for them. */
  skipped: number;
  messages: number;
  events: number;
  inputs: number;
  runs: number;
  /** Workflow versions copied (those MongoDB had already are left as they are). */
  versions: number;
}

/** Messages or events per step document, well under MongoDB's 16 MiB document limit. */
const CHUNK = 200;

type ChatRow = Omit<SqliteChatRow, 'last_seq' | 'steps'> & { last_input_at: string | null };

type Key = { app_id: string; user_id: string; chat_id: string };
type RunRow = {
  run_id: string;
  input_seq: number;
  workflow_id: string;
  status: string;
  calls: string;
  usage: string | null;
};

export async function copySqliteToMongo(
  source: SqliteDatabase,
  target: MongoDatabase,
  progress?: (counts: CopyCounts) => void,
): Promise<CopyCounts> {
  const counts: CopyCounts = { chats: 0, skipped: 0, messages: 0, events: 0, inputs: 0, runs: 0, versions: 0 };
  counts.versions = await copyVersions(source, target);
  const chats = source.db
    .prepare(
      'SELECT app_id, user_id, chat_id, workflow_id, created_at, last_input_at, context, awaiting, inputs_done, workflow_version FROM chats ORDER BY app_id, user_id, chat_id',
    )
    .all() as ChatRow[];
  for (const chat of chats) {
    if (await copyChat(source, target, chat, counts)) progress?.(counts);
  }
  return counts;
}

/** One chat: its row, its inputs, and its history, unfinished run and unpublished usage as steps; false when it was left alone. */
async function copyChat(
  source: SqliteDatabase,
  target: MongoDatabase,
  chat: ChatRow,
  counts: CopyCounts,
): Promise<boolean> {
  const key: Key = { app_id: chat.app_id, user_id: chat.user_id, chat_id: chat.chat_id };
  const where = [chat.app_id, chat.user_id, chat.chat_id];
  // A chat the target already writes to (it has steps of its own) is not overwritten.
  const own = await target.log.findOne({ ...key, imported: { $exists: false } } as never);
  if (own) {
    counts.skipped++;
    return false;
  }
  await insertIgnoringCopies(target.chats, [
    {
      _id: chatKey(key),
      ...key,
      workflow_id: chat.workflow_id,
      created_at: chat.created_at,
      last_input_at: chat.last_input_at ?? chat.created_at,
    },
  ]);
  const inputs = inputDocs(source, chat, key, where);
  await insertIgnoringCopies(target.inputs, inputs);
  const bodies = (sql: string) =>
    (source.db.prepare(sql).all(...where) as { body: string }[]).map(
      (r) => JSON.parse(r.body) as Record<string, unknown>,
    );
  const messages = bodies('SELECT body FROM messages WHERE app_id = ? AND user_id = ? AND chat_id = ? ORDER BY idx');
  const events = bodies('SELECT body FROM events WHERE app_id = ? AND user_id = ? AND chat_id = ? ORDER BY seq');
  const runs = source.db
    .prepare(
      "SELECT run_id, input_seq, workflow_id, status, calls, usage, usage_published FROM runs WHERE app_id = ? AND user_id = ? AND chat_id = ? AND (status = 'running' OR (usage_published = 0 AND usage IS NOT NULL)) ORDER BY input_seq",
    )
    .all(...where) as RunRow[];
  await insertIgnoringCopies(target.log, stepDocs(chat, key, messages, events, runs));
  counts.chats++;
  counts.messages += messages.length;
  counts.events += events.length;
  counts.inputs += inputs.length;
  counts.runs += runs.length;
  return true;
}

/** The chat's inputs, those it has not run still pending. */
function inputDocs(source: SqliteDatabase, chat: ChatRow, key: Key, where: string[]): InputDoc[] {
  const inputs = source.db
    .prepare(
      'SELECT input_seq, request_id, body, state FROM inputs WHERE app_id = ? AND user_id = ? AND chat_id = ? ORDER BY input_seq',
    )
    .all(...where) as Array<{ input_seq: number; request_id: string; body: string; state: string }>;
  return inputs.map((i) => ({
    _id: `${chatKey(key)}/${i.input_seq}`,
    ...key,
    input_seq: i.input_seq,
    request_id: i.request_id,
    body: i.body,
    accepted_at: new Date(),
    ...(i.state === 'pending' && i.input_seq > chat.inputs_done ? { pending: true as const } : {}),
  }));
}

/** The chat's log as steps: its history in chunks, its unfinished run, its unpublished usage, its open request on the last. */
function stepDocs(
  chat: ChatRow,
  key: Key,
  messages: Record<string, unknown>[],
  events: Record<string, unknown>[],
  runs: RunRow[],
): StepDoc[] {
  const entries = (list: unknown[]) => (list.length ? JSON.stringify(list) : NO_ENTRIES);
  const context = chat.context ?? undefined;
  const steps: StepDoc[] = [];
  let lastSeq = 0;
  const step = (parts: Partial<StepDoc>): void => {
    const n = steps.length + 1;
    steps.push({
      _id: `${chatKey(key)}/${n}`,
      ...key,
      step: n,
      epoch: 0,
      holder: 'store-migrate',
      created_at: new Date(),
      last_seq: lastSeq,
      events: NO_ENTRIES,
      messages: NO_ENTRIES,
      inputs_done: chat.inputs_done,
      ...(context ? { context } : {}),
      ...(chat.workflow_version ? { workflow_version: chat.workflow_version } : {}),
      imported: true,
      ...parts,
    });
  };
  for (let i = 0; i < Math.max(messages.length, events.length); i += CHUNK) {
    const chunk = events.slice(i, i + CHUNK);
    lastSeq = Number(chunk.at(-1)?.seq ?? lastSeq);
    step({ messages: entries(messages.slice(i, i + CHUNK)), events: entries(chunk), last_seq: lastSeq });
  }
  for (const run of runs) {
    if (run.status === 'running') {
      const calls = JSON.parse(run.calls) as Record<string, unknown>[];
      step({ run: { run_id: run.run_id, input_seq: run.input_seq, workflow_id: run.workflow_id, calls } });
    } else {
      step({ usage: JSON.parse(run.usage!) as Record<string, unknown>, usage_pending: true });
    }
  }
  // The open input request stays open on the chat's newest step.
  if (chat.awaiting !== null) {
    if (steps.length === 0) step({});
    steps.at(-1)!.awaiting = JSON.parse(chat.awaiting) as StepDoc['awaiting'];
  }
  return steps;
}

/** Every stored workflow version: the chats copied may be pinned to any of them. */
async function copyVersions(source: SqliteDatabase, target: MongoDatabase): Promise<number> {
  const rows = source.db
    .prepare('SELECT workflow_id, version, files, created_at FROM workflow_versions')
    .all() as Array<{ workflow_id: string; version: string; files: string; created_at: string }>;
  await insertIgnoringCopies(
    target.workflowVersions,
    rows.map((r) => ({ _id: `${r.workflow_id}@${r.version}`, ...r })),
  );
  return rows.length;
}

/** Inserts `docs`, leaving those already there (an earlier copy) as they are. */
async function insertIgnoringCopies<T extends { _id: string }>(
  collection: { insertMany(docs: T[], options: { ordered: false }): Promise<unknown> },
  docs: T[],
): Promise<void> {
  if (docs.length === 0) return;
  try {
    await collection.insertMany(docs, { ordered: false });
  } catch (error) {
    const writeErrors = (error as { writeErrors?: unknown[] | Record<string, unknown> }).writeErrors;
    const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? Object.values(writeErrors) : [];
    const onlyCopies = list.length > 0 && list.every((e) => (e as { code?: number }).code === 11000);
    if (!(onlyCopies || (list.length === 0 && isDuplicateKey(error)))) throw error;
  }
}
