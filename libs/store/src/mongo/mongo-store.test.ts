// The MongoDB adapters against the ChatLog and ChatInbox contracts, on a real server: MONGODB_URI
// when set, else a private FerretDB. Without either the suite says so and is skipped.
import { mongoTestServerAvailable, mongoTestServerKind, startMongoTestServer } from '@mozaiks/testing';
import type { MongoTestServer } from '@mozaiks/testing';
import { MONGO_INDEXES, MongoDatabase } from './mongo-database';
import { openStore } from '../open-store';
import { chatInboxContract, chatLogContract } from '../store.contract';
import type { StoreFactory } from '../store.contract';
import { workflowVersionContract } from '../workflow-version.contract';
import { chatCatalogContract } from '../chat-catalog.contract';

let server: MongoTestServer | undefined;
let database = '';
beforeAll(async () => {
  server = await startMongoTestServer();
}, 30_000);
afterAll(async () => server?.dispose());

const factory: StoreFactory = {
  create: () => {
    database = server!.database();
    return openStore({ mongodbUri: server!.uri, mongodbDatabase: database, dataDir: '/nonexistent/never-written' });
  },
  reopen: () =>
    openStore({ mongodbUri: server!.uri, mongodbDatabase: database, dataDir: '/nonexistent/never-written' }),
  exclusiveLeases: mongoTestServerKind() !== 'ferretdb',
};

// Counted as skipped, after one plain line saying why, when no server can be had.
const describeIfServer = mongoTestServerAvailable() ? describe : describe.skip;

describeIfServer('MongoDB store', () => {
  chatLogContract('MongoDB', factory);
  chatInboxContract('MongoDB', factory);
  workflowVersionContract('MongoDB', factory);
  chatCatalogContract('MongoDB', factory);

  it('creates its indexes idempotently', async () => {
    const db = await MongoDatabase.connect({ uri: server!.uri, database: server!.database() });
    try {
      const first = await db.ensureIndexes();
      expect(first).toEqual([]);
      expect(await db.ensureIndexes()).toEqual([]);
      const names = (await db.log.listIndexes().toArray()).map((i) => i.name);
      for (const index of MONGO_INDEXES.log) expect(names).toContain(index.name);
    } finally {
      await db.close();
    }
  });

  it('names the host, never the password, when the server cannot be reached', async () => {
    const error = await openStore({
      mongodbUri: 'mongodb://runtime:hunter2secret@127.0.0.1:1/?serverSelectionTimeoutMS=300',
      dataDir: '/nonexistent',
    }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect((error as Error).message).not.toContain('hunter2secret');
  });
});
