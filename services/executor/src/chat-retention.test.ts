// CHAT_RETENTION_DAYS: the sweep erases the chats that took no input for that long, whole, says so
// to every process (sockets close, executors forget) and audits each; younger chats stay.
import { Writable } from 'node:stream';
import { ChatAdmin } from '@mozaiks/chat-admin';
import { MemoryBus } from '@mozaiks/bus';
import { subjects as subjectsOf } from '@mozaiks/protocol';
import type { ChatDeleted } from '@mozaiks/protocol';
import { openStore } from '@mozaiks/store';
import type { ChatStores } from '@mozaiks/store';
import { RuntimeMetrics, createLogger } from '@mozaiks/telemetry';
import { makeTempDir } from '@mozaiks/testing';
import type { TempDir } from '@mozaiks/testing';
import { startChatRetention } from './chat-retention';

let dir: TempDir;
let stores: ChatStores;
beforeEach(async () => {
  dir = makeTempDir('mozaiks-retention-');
  stores = await openStore({ dataDir: dir.path });
});
afterEach(async () => {
  await stores.close();
  dir.remove();
});

const input = (id: string) => ({
  request_id: id,
  workflow_id: 'wf',
  content: `note ${id}`,
  context: {},
  received_at: new Date().toISOString(),
});

it('erases chats without activity for CHAT_RETENTION_DAYS, each audited and announced; younger ones stay', async () => {
  const ada = { app_id: 'app_1', user_id: 'ada' };
  await stores.inbox.accept(ada, 'c_old', input('r1'));
  await stores.inbox.accept({ app_id: 'app_2', user_id: 'bob' }, 'c_old_too', input('r2'));
  await new Promise((r) => setTimeout(r, 20));
  await stores.inbox.accept(ada, 'c_new', input('r3'));
  const lastOld = (await stores.catalog.summary({ app_id: 'app_2', user_id: 'bob' }, 'c_old_too'))!.last_activity_at;
  const fresh = (await stores.catalog.summary(ada, 'c_new'))!.last_activity_at;
  // A day after a moment between the old chats' last input and the new one's.
  const between = (Date.parse(lastOld) + Date.parse(fresh)) / 2;

  const bus = new MemoryBus();
  const announced: ChatDeleted[] = [];
  bus.subscribe<ChatDeleted>(subjectsOf().allChatDeletions, (m) => void announced.push(m.data));
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: 'test',
    level: 'info',
    destination: new Writable({
      write: (chunk: Buffer, _e, done) => {
        for (const line of chunk.toString().trim().split('\n')) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  });
  const metrics = new RuntimeMetrics({ processMetrics: false });
  const admin = new ChatAdmin({ ...stores, bus, subjects: subjectsOf(), logger, metrics, releaseWaitMs: 2000 });
  const stop = startChatRetention({ admin, catalog: stores.catalog, days: 1, logger, now: () => between + 86_400_000 });
  try {
    const deadline = Date.now() + 10_000;
    while (lines.filter((l) => l.message === 'data request').length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
  } finally {
    stop();
  }
  expect(await stores.catalog.summary(ada, 'c_old')).toBeUndefined();
  expect(await stores.catalog.summary({ app_id: 'app_2', user_id: 'bob' }, 'c_old_too')).toBeUndefined();
  expect(await stores.catalog.summary(ada, 'c_new')).toMatchObject({ title: 'note r3' });
  const audit = lines.filter((l) => l.message === 'data request');
  expect(audit.map((l) => [l.kind, l.app_id, l.user_id, l.chat_ids, l.chats, l.caller_sub])).toEqual([
    ['retention', 'app_1', 'ada', ['c_old'], 1, 'CHAT_RETENTION_DAYS'],
    ['retention', 'app_2', 'bob', ['c_old_too'], 1, 'CHAT_RETENTION_DAYS'],
  ]);
  expect(announced.filter((a) => a.erased).map((a) => a.chat_id)).toEqual(['c_old', 'c_old_too']);
  expect(await metrics.render().then((m) => m.body)).toMatch(/^data_requests_total\{kind="retention"\} 2$/m);
  await bus.drain();
});
