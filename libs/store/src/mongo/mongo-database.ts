// The MongoDB connection shared by the ChatLog and ChatInbox adapters: the client, the collections,
// their indexes (created idempotently), a health probe for /ready, and retention.
//
// No multi-document transactions are used (many MongoDB-compatible services lack them): every
// write that must be atomic is one document. See mongo-chat-log.ts for how steps are ordered.
// What users, models and tools wrote (messages, events, context variables, an input's body) is
// kept as JSON text, not as fields: any key a tool returns (`$context`, `a.b`) is stored as it is.
import type { Collection, Db, IndexDescription, MongoClient } from 'mongodb';
import type * as MongoDriver from 'mongodb';

/**
 * The MongoDB driver, loaded the first time a MongoDB store is used: a process on the embedded
 * store never loads it (about 150 ms of a service's start).
 */
let loaded: typeof MongoDriver | undefined;
function driver(): typeof MongoDriver {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require('mongodb') as typeof MongoDriver);
}
import type ConnectionStringClass from 'mongodb-connection-string-url';

/** The connection-string parser, loaded with the first MongoDB URI looked at. */
function connectionString(uri: string): ConnectionStringClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: ConnectionString } = require('mongodb-connection-string-url') as {
    default: typeof ConnectionStringClass;
  };
  return new ConnectionString(uri);
}
import { StoreUnavailableError } from '../store-error.js';
import { backoffDelay, errorMessage, sleep } from '@mozaiks/common';
import type { BackoffPolicy } from '@mozaiks/common';

export interface MongoDatabaseOptions {
  /** Connection string, e.g. `mongodb://user:pass@host:27017/?replicaSet=rs0`. */
  uri: string;
  /** @default 'mozaiks_runtime' */
  database?: string;
  /** Connections the pool may open to each server. @default 20 */
  maxPoolSize?: number;
  /** How long to look for a reachable server before an operation fails. @default 10000 */
  serverSelectionTimeoutMs?: number;
}

/** A chat's owner and id as stored on every document of it. */
export interface ChatKeyFields {
  app_id: string;
  user_id: string;
  chat_id: string;
}

export interface ChatDoc extends ChatKeyFields {
  _id: string;
  workflow_id: string;
  created_at: string;
  /** When the chat last took an input (ISO): what the API over chats lists them by. */
  last_input_at?: string;
}

export interface InputDoc extends ChatKeyFields {
  _id: string;
  input_seq: number;
  request_id: string;
  /** The input, as JSON. */
  body: string;
  accepted_at: Date;
  /** Present until a holder releases the chat with this input done: what the recovery sweep looks for. */
  pending?: true;
}

export interface LeaseDoc extends ChatKeyFields {
  _id: string;
  holder: string;
  epoch: number;
  expires_at: number;
  released: boolean;
  inputs_done?: number;
  /** The log position the last holder reported on release. */
  position?: number;
  /** Set by releases before wants had their own collection; no longer read or written. */
  wanted?: boolean;
  /** The epoch whose holder fenced off the holder before it (after a takeover). */
  fenced?: number;
}

/**
 * A refused acquire of a held lease, kept beside the lease (same `_id`) rather than in it: only
 * the lease's holder writes the lease while it is held, so no two writers update one document at
 * once (which MongoDB serializes, and which FerretDB v1 does not: one of the two updates is lost).
 */
export interface LeaseWantDoc {
  _id: string;
  at: number;
}

export interface StepDoc extends ChatKeyFields {
  _id: string;
  step: number;
  epoch: number;
  holder: string;
  created_at: Date;
  /** `seq` of the chat's newest event once this step is in. */
  last_seq: number;
  /** The step's events with their seqs, as a JSON array. */
  events: string;
  /** The messages it added to the history, as a JSON array. */
  messages: string;
  /** The chat's state after this step (each step carries it, so the newest step is the chat's head); context variables as JSON. */
  context?: string;
  awaiting?: { request_id: string; agent: string; tool_call_id?: string };
  inputs_done: number;
  run?: { run_id: string; input_seq: number; workflow_id: string; calls: Record<string, unknown>[]; finish?: string };
  /** The run's priced usage event, with its seq. */
  usage?: Record<string, unknown>;
  /** Present while `usage` is waiting to be published. */
  usage_pending?: true;
  /** A step that only fences off a previous holder. */
  fence?: true;
  /** Written by `mozaiks store migrate --from sqlite:…`, not by a holder of the chat's lease. */
  imported?: true;
  /** The workflow version the chat runs after this step (carried forward, like the context). */
  workflow_version?: string;
}

/** A stored workflow version: `_id` is `<workflow_id>@<version>`; `files` is JSON (path → text). */
export interface WorkflowVersionDoc {
  _id: string;
  workflow_id: string;
  version: string;
  files: string;
  created_at: string;
}

/** Every index the adapters need, by collection. Listed in docs/operations.md (Storage). */
export const MONGO_INDEXES: Record<
  'chats' | 'inputs' | 'leases' | 'lease_wants' | 'log' | 'workflow_versions',
  IndexDescription[]
> = {
  chats: [
    { key: { app_id: 1, last_input_at: -1, user_id: -1, chat_id: -1 }, name: 'chats_by_activity' },
    { key: { app_id: 1, user_id: 1, last_input_at: -1, chat_id: -1 }, name: 'chats_of_user_by_activity' },
  ],
  inputs: [
    { key: { app_id: 1, user_id: 1, chat_id: 1, input_seq: 1 }, name: 'inputs_by_seq', unique: true },
    { key: { app_id: 1, user_id: 1, chat_id: 1, request_id: 1 }, name: 'inputs_by_request', unique: true },
    { key: { pending: 1 }, name: 'inputs_pending' },
  ],
  leases: [],
  lease_wants: [],
  log: [
    { key: { app_id: 1, user_id: 1, chat_id: 1, step: 1 }, name: 'log_by_step', unique: true },
    { key: { app_id: 1, user_id: 1, chat_id: 1, last_seq: 1 }, name: 'log_by_seq' },
    { key: { usage_pending: 1 }, name: 'log_usage_pending' },
    { key: { created_at: 1 }, name: 'log_by_age' },
  ],
  workflow_versions: [],
};

/** `events` or `messages` of a step that has none. */
export const NO_ENTRIES = '[]';

/** The document id of a chat (and of its lease): its tenant and id, which cannot contain `/`. */
export function chatKey(f: ChatKeyFields): string {
  return `${f.app_id}/${f.user_id}/${f.chat_id}`;
}

/** Whether `error` is a unique-index violation. */
export function isDuplicateKey(error: unknown): boolean {
  return loaded !== undefined && error instanceof loaded.MongoServerError && error.code === 11000;
}

/** Creates the chat's document unless it exists; returns it. Concurrent callers create it once. */
export async function ensureChat(chats: Collection<ChatDoc>, key: ChatKeyFields, workflowId: string): Promise<ChatDoc> {
  const _id = chatKey(key);
  const found = await chats.findOne({ _id });
  if (found) return found;
  const now = new Date().toISOString();
  const doc: ChatDoc = { _id, ...key, workflow_id: workflowId, created_at: now, last_input_at: now };
  try {
    await chats.insertOne(doc);
    return doc;
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    return (await chats.findOne({ _id }))!;
  }
}

/** A dropped connection or a write conflict between processes starting together: worth another try. */
function isTransient(error: unknown): boolean {
  if (!loaded || error instanceof loaded.MongoServerSelectionError) return false;
  return (
    error instanceof loaded.MongoNetworkError ||
    (error instanceof loaded.MongoServerError &&
      (error.hasErrorLabel('TransientTransactionError') || error.code === 112 || error.code === 11000))
  );
}

function uriOption(uri: string, name: string): string | undefined {
  try {
    return connectionString(uri).searchParams.get(name) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Host list of a connection string, for messages: never its password. */
export function describeMongoUri(uri: string): string {
  try {
    return connectionString(uri).hosts.join(',');
  } catch {
    return '(unparseable MONGODB_URI)';
  }
}

/** The waits while a starting process connects to a server that drops it (other processes are setting up). */
const CONNECT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 1000, jitter: 'none' };

export class MongoDatabase {
  readonly client: MongoClient;
  readonly db: Db;
  readonly chats: Collection<ChatDoc>;
  readonly inputs: Collection<InputDoc>;
  readonly leases: Collection<LeaseDoc>;
  readonly leaseWants: Collection<LeaseWantDoc>;
  readonly log: Collection<StepDoc>;
  readonly workflowVersions: Collection<WorkflowVersionDoc>;
  /** Indexes that connecting created (they were missing): what `store migrate` reports. */
  createdIndexes: string[] = [];
  /**
   * The steps holding usage events this process stored or read and has not yet seen published
   * (by chat key and event id), so that marking one published is an update by id.
   */
  readonly usageSteps = new Map<string, string>();
  /** Set by the probe: whether the last ping answered. */
  private healthy = true;
  private probe: NodeJS.Timeout | undefined;

  private constructor(
    client: MongoClient,
    database: string,
    readonly hosts: string,
  ) {
    this.client = client;
    this.db = client.db(database);
    this.chats = this.db.collection('chats');
    this.inputs = this.db.collection('inputs');
    this.leases = this.db.collection('leases');
    this.leaseWants = this.db.collection('lease_wants');
    this.log = this.db.collection('log');
    this.workflowVersions = this.db.collection('workflow_versions');
  }

  /**
   * Connects and creates the indexes.
   * @throws StoreUnavailableError naming the host when no server answers.
   */
  static async connect(options: MongoDatabaseOptions): Promise<MongoDatabase> {
    const hosts = describeMongoUri(options.uri);
    const database = options.database ?? 'mozaiks_runtime';
    // A timeout in the connection string wins over the default.
    const selectionMs =
      options.serverSelectionTimeoutMs ?? (Number(uriOption(options.uri, 'serverSelectionTimeoutMS')) || 10_000);
    const client = new (driver().MongoClient)(options.uri, {
      maxPoolSize: options.maxPoolSize ?? 20,
      serverSelectionTimeoutMS: selectionMs,
      retryReads: true,
      retryWrites: true,
      appName: 'mozaiks-runtime',
    });
    // Several processes starting at once create the same collections and indexes; a server that
    // drops a connection meanwhile is tried again for a while before the start is given up.
    const deadline = Date.now() + selectionMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await client.connect();
        const store = new MongoDatabase(client, database, hosts);
        await store.db.command({ ping: 1 });
        store.createdIndexes = await store.ensureIndexes();
        // The first start of a version that lists chats by activity: older chats get theirs.
        if (store.createdIndexes.includes('chats.chats_by_activity')) await store.backfillActivity();
        return store;
      } catch (error) {
        if (isTransient(error) && Date.now() < deadline) {
          await sleep(backoffDelay(CONNECT_BACKOFF, attempt));
          continue;
        }
        await client.close().catch(() => undefined);
        const reason = errorMessage(error);
        throw new StoreUnavailableError(
          `cannot reach MongoDB at ${hosts} (database ${database}): ${reason.replaceAll(options.uri, hosts)}`,
          { cause: error },
        );
      }
    }
  }

  /** Creates every index that is missing; returns the names it created. Safe to run at any time. */
  async ensureIndexes(): Promise<string[]> {
    const created: string[] = [];
    for (const [name, indexes] of Object.entries(MONGO_INDEXES)) {
      const collection = this.db.collection(name);
      // Creating the collection first makes listIndexes answer on a new database.
      await this.db.createCollection(name).catch((error: unknown) => {
        if (!(error instanceof driver().MongoServerError && error.code === 48)) throw error;
      });
      const existing = new Set(
        (await collection.listIndexes().toArray()).map((i) => String((i as { name?: unknown }).name)),
      );
      const missing = indexes.filter((i) => !existing.has(i.name!));
      if (missing.length) await collection.createIndexes(missing);
      created.push(...missing.map((i) => `${name}.${i.name}`));
    }
    return created;
  }

  /** Gives every chat stored without `last_input_at` its creation time as its last activity. */
  async backfillActivity(): Promise<number> {
    const older = await this.chats
      .find({ last_input_at: { $exists: false } }, { projection: { _id: 1, created_at: 1 } })
      .toArray();
    for (let i = 0; i < older.length; i += 1000) {
      await this.chats.bulkWrite(
        older.slice(i, i + 1000).map((c) => ({
          updateOne: {
            filter: { _id: c._id, last_input_at: { $exists: false } },
            update: { $set: { last_input_at: c.created_at } },
          },
        })),
        { ordered: false },
      );
    }
    return older.length;
  }

  /** Notes that the usage event `eventId` of the chat `chat` is stored in the step `stepId`. */
  noteUsageStep(chat: string, eventId: string, stepId: string): void {
    this.usageSteps.set(`${chat}\u0000${eventId}`, stepId);
    // Entries leave when their usage is published; this bounds what a failing billing path leaves behind.
    if (this.usageSteps.size > 10_000) this.usageSteps.delete(this.usageSteps.keys().next().value!);
  }

  /** Pings the server every `intervalMs`, so `isHealthy` can answer /ready at once. */
  startProbe(intervalMs = 2000): void {
    const ping = () =>
      this.db.command({ ping: 1 }, { timeoutMS: Math.max(500, intervalMs) }).then(
        () => void (this.healthy = true),
        () => void (this.healthy = false),
      );
    this.probe = setInterval(() => void ping(), intervalMs);
    this.probe.unref();
  }

  get isHealthy(): boolean {
    return this.healthy;
  }

  /**
   * Empties the events of steps older than `days`. The step stays, with its messages, the chat's
   * state and any usage event still to publish (kept in its own field): only the replayable
   * events go. Inputs are kept too: their numbers order the chat's runs.
   */
  async prune(days: number): Promise<{ steps: number }> {
    const cutoff = new Date(Date.now() - days * 24 * 3600_000);
    const steps = await this.log.updateMany(
      { created_at: { $lt: cutoff }, events: { $ne: NO_ENTRIES } },
      { $set: { events: NO_ENTRIES } },
    );
    return { steps: steps.modifiedCount };
  }

  async close(): Promise<void> {
    clearInterval(this.probe);
    await this.client.close();
  }
}
