// The SQLite adapter against the ChatStore contract, on real files.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chatStoreContract } from './chat-store.contract';
import { SqliteChatStore } from './sqlite-chat-store';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mozaiks-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

chatStoreContract('SqliteChatStore', {
  create: async () => new SqliteChatStore({ dataDir: dir }),
  reopen: async () => new SqliteChatStore({ dataDir: dir }),
});

describe('SqliteChatStore', () => {
  it('creates its folder and a WAL-mode database file under DATA_DIR', async () => {
    const store = new SqliteChatStore({ dataDir: path.join(dir, 'nested', 'data') });
    await store.ensureChat({ app_id: 'a', user_id: 'u' }, 'c', 'wf');
    expect(existsSync(path.join(dir, 'nested', 'data', 'mozaiks.sqlite'))).toBe(true);
    expect(existsSync(path.join(dir, 'nested', 'data', 'mozaiks.sqlite-wal'))).toBe(true);
    await store.close();
  });

  it('gives two handles on one file (two processes) one gapless sequence', async () => {
    const a = new SqliteChatStore({ dataDir: dir });
    const b = new SqliteChatStore({ dataDir: dir });
    const t = { app_id: 'a', user_id: 'u' };
    await a.ensureChat(t, 'c', 'wf');
    const seqs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const store = i % 2 ? a : b;
      const e = await store.appendEvent(t, 'c', { type: 'agent_message', chat_id: 'c', event_id: `e${i}`, timestamp: new Date().toISOString(), run_id: 'r', agent: 'A', content: 'x' });
      seqs.push(e.seq!);
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await a.close();
    await b.close();
  });
});
