// The SQLite adapters against the ChatLog and ChatInbox contracts, on real files.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../open-store';
import { chatInboxContract, chatLogContract } from '../store.contract';
import type { StoreFactory } from '../store.contract';
import { workflowVersionContract } from '../workflow-version.contract';
import { chatCatalogContract } from '../chat-catalog.contract';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mozaiks-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const factory: StoreFactory = {
  create: () => openStore({ dataDir: dir }),
  reopen: () => openStore({ dataDir: dir }),
};
chatLogContract('SQLite', factory);
chatInboxContract('SQLite', factory);
workflowVersionContract('SQLite', factory);
chatCatalogContract('SQLite', factory);

describe('SQLite store', () => {
  it('creates its folder and a WAL-mode database file under DATA_DIR', async () => {
    const stores = await openStore({ dataDir: path.join(dir, 'nested', 'data') });
    await stores.inbox.accept({ app_id: 'a', user_id: 'u' }, 'c', {
      request_id: 'r',
      workflow_id: 'wf',
      content: 'x',
      context: {},
      received_at: new Date().toISOString(),
    });
    expect(stores.location).toBe(path.join(dir, 'nested', 'data', 'mozaiks.sqlite'));
    expect(existsSync(path.join(dir, 'nested', 'data', 'mozaiks.sqlite-wal'))).toBe(true);
    await stores.close();
  });

  it('upgrades a database of the first release, keeping its chats, history and open input requests', async () => {
    const old = new Database(path.join(dir, 'mozaiks.sqlite'));
    old.exec(`
      CREATE TABLE chats (app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL, workflow_id TEXT NOT NULL, created_at TEXT NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0, next_message INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (app_id, user_id, chat_id));
      CREATE TABLE input_requests (app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL, request_id TEXT NOT NULL, agent TEXT NOT NULL, PRIMARY KEY (app_id, user_id, chat_id));
      CREATE TABLE leases (app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL, holder TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (app_id, user_id, chat_id));
      CREATE TABLE events (app_id TEXT NOT NULL, user_id TEXT NOT NULL, chat_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (app_id, user_id, chat_id, seq));
      INSERT INTO chats VALUES ('a', 'u', 'c', 'wf', '2026-01-01T00:00:00.000Z', 1, 0);
      INSERT INTO events VALUES ('a', 'u', 'c', 1, 'e1', 'agent_message', '{"type":"agent_message","seq":1,"event_id":"e1"}');
      INSERT INTO input_requests VALUES ('a', 'u', 'c', 'q1', 'Asker');
      INSERT INTO leases VALUES ('a', 'u', 'c', 'old-executor', 0);
    `);
    old.close();
    const stores = await openStore({ dataDir: dir });
    const t = { app_id: 'a', user_id: 'u' };
    expect(await stores.log.getChat(t, 'c')).toMatchObject({
      last_seq: 1,
      awaiting: { request_id: 'q1', agent: 'Asker' },
    });
    expect((await stores.log.listEvents(t, 'c')).map((e) => e.event_id)).toEqual(['e1']);
    expect(await stores.inbox.acquire(t, 'c', 'new-executor', 1000)).toMatchObject({ epoch: 1 });
    await stores.close();
  });
});
