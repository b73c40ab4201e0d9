// Erasing a user on NATS: their usage dead letters go, and with `usage` their billing records on
// the usage stream; another user's stay. Real NATS with the runtime's streams, a real SQLite store.
import { MemoryBus } from '@mozaiks/bus';
import type { NatsBus } from '@mozaiks/bus';
import { subjects as subjectsOf } from '@mozaiks/protocol';
import type { UsageDeadLetter, UsageUpdateEvent } from '@mozaiks/protocol';
import { connectRuntimeBus } from '@mozaiks/service';
import { openStore } from '@mozaiks/store';
import type { ChatStores } from '@mozaiks/store';
import { makeTempDir, startNatsServer } from '@mozaiks/testing';
import type { NatsServer, TempDir } from '@mozaiks/testing';
import { ChatEraser } from './chat-eraser';

const subjects = subjectsOf();
let nats: NatsServer;
let bus: NatsBus;
let dir: TempDir;
let stores: ChatStores;

beforeAll(async () => {
  nats = await startNatsServer();
  bus = await connectRuntimeBus({
    servers: nats.url,
    prefix: 'mozaiks',
    service: 'test',
    ackWaitMs: 30_000,
    onError: () => undefined,
  });
}, 30_000);
afterAll(async () => {
  await bus.drain();
  await nats.stop();
});
beforeEach(async () => {
  dir = makeTempDir('mozaiks-eraser-');
  stores = await openStore({ dataDir: dir.path });
});
afterEach(async () => {
  await stores.close();
  dir.remove();
});

function usageEvent(app: string, user: string, id: string): UsageUpdateEvent {
  const tokens = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
  return {
    type: 'usage_update',
    event_id: id,
    chat_id: `chat_${user}`,
    user_id: user,
    app_id: app,
    workflow_id: 'wf',
    run_id: `run_${id}`,
    tokens,
    total_tokens: 5,
    cost_usd: 0.001,
    models: [],
    timestamp: new Date().toISOString(),
    seq: 3,
  };
}

function deadLetter(event: UsageUpdateEvent): UsageDeadLetter {
  return {
    v: 1,
    sink_id: 'sinkA',
    sink: 'billing.example.com',
    event_id: event.event_id,
    app_id: event.app_id,
    attempts: 5,
    last_status: 503,
    reason: 'HTTP 503',
    dead_at: new Date().toISOString(),
    event,
  };
}

/** What a stream holds on `subject`, read back with a consumer of its own: the event ids. */
async function held(subject: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const m of bus.read<{ event_id: string }>(subject)) ids.push(m.data.event_id);
  return ids.sort();
}

it("erases a user's dead letters, and their billing records only when asked; nobody else's", async () => {
  const events = [
    usageEvent('app_1', 'eve', 'u_eve_1'),
    usageEvent('app_1', 'eve', 'u_eve_2'),
    usageEvent('app_1', 'fay', 'u_fay_1'),
    usageEvent('app_2', 'eve', 'u_eve_elsewhere'),
  ];
  for (const e of events) {
    await bus.publish(subjects.usage(e.app_id, e.user_id), e, { msgId: e.event_id });
    await bus.publish(subjects.usageDeadLetter('sinkA', e.event_id), deadLetter(e));
  }
  await stores.inbox.accept({ app_id: 'app_1', user_id: 'eve' }, 'chat_eve', {
    request_id: 'r1',
    workflow_id: 'wf',
    content: 'hello',
    context: {},
    received_at: new Date().toISOString(),
  });
  const eraser = new ChatEraser({ ...stores, bus, subjects, streams: bus, releaseWaitMs: 2000 });
  const eve = { app_id: 'app_1', user_id: 'eve' };

  expect(await eraser.eraseUser(eve, { usage: false })).toEqual({
    chats: 1,
    events: 0,
    dead_letters: 2,
    usage_events: 0,
    chat_ids: ['chat_eve'],
  });
  expect(await held(subjects.usageDeadLetters())).toEqual(['u_eve_elsewhere', 'u_fay_1']);
  // Billing records are kept unless asked for.
  expect(await held(subjects.allUsage)).toEqual(['u_eve_1', 'u_eve_2', 'u_eve_elsewhere', 'u_fay_1']);

  expect(await eraser.eraseUser(eve, { usage: true })).toMatchObject({ chats: 0, dead_letters: 0, usage_events: 2 });
  expect(await held(subjects.allUsage)).toEqual(['u_eve_elsewhere', 'u_fay_1']);
}, 30_000);

it('without usage streams (standalone) erases the chats and counts no stream', async () => {
  const eraser = new ChatEraser({ ...stores, bus: new MemoryBus(), subjects, releaseWaitMs: 2000 });
  expect(await eraser.eraseUser({ app_id: 'app_1', user_id: 'nobody' }, { usage: true })).toEqual({
    chats: 0,
    events: 0,
    dead_letters: 0,
    usage_events: 0,
    chat_ids: [],
  });
});
