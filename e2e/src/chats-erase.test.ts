// Deleting a chat and erasing a user through the API over chats, as a control plane answering a
// data subject's request: with a socket open and a run going, then every table or collection of
// the store scanned for what is left. On SQLite and on the MongoDB-wire server.
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import {
  WsTestClient,
  mintAdminToken,
  mintToken,
  mongoTestServerAvailable,
  startMongoTestServer,
} from '@mozaiks/testing';
import type { MongoTestServer } from '@mozaiks/testing';
import { startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

const stores = mongoTestServerAvailable() ? (['sqlite', 'mongodb'] as const) : (['sqlite'] as const);
const APP = 'app_456';
const usage = { prompt_tokens: 4, completion_tokens: 2 };

const launch = (user: string, chat: string) =>
  mintToken({ claims: { app_id: APP, user_id: user, workflow_id: 'hello', chat_id: chat } });

/** Every row or document the store holds, as JSON text, by table or collection. */
async function everything(rt: TestRuntime, mongo: MongoTestServer | undefined): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const { stores } = rt.runtime;
  if (stores.kind === 'sqlite') {
    const db = new Database(stores.location, { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      for (const { name } of tables)
        found.set(
          name,
          db
            .prepare(`SELECT * FROM ${name}`)
            .all()
            .map((r) => JSON.stringify(r)),
        );
    } finally {
      db.close();
    }
    return found;
  }
  const client = await MongoClient.connect(mongo!.uri);
  try {
    const db = client.db(stores.location.split('/').pop());
    for (const { name } of await db.listCollections().toArray())
      found.set(
        name,
        (await db.collection(name).find({}).toArray()).map((d) => JSON.stringify(d)),
      );
  } finally {
    await client.close();
  }
  return found;
}

/** Where `needles` still appear: `table: row` for each. */
async function traces(rt: TestRuntime, mongo: MongoTestServer | undefined, needles: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const [table, rows] of await everything(rt, mongo))
    for (const row of rows) if (needles.some((n) => row.includes(n))) left.push(`${table}: ${row.slice(0, 200)}`);
  return left;
}

describe.each(stores)('deleting and erasing through the API over chats (%s)', (store) => {
  let mongo: MongoTestServer | undefined;
  let rt: TestRuntime;
  let admin: string;
  beforeAll(async () => {
    if (store === 'mongodb') mongo = await startMongoTestServer();
    rt = await startTestRuntime(mongo ? { mongo } : {});
    rt.llm.setFallback({ content: 'Noted.', usage });
    admin = await mintAdminToken({ claims: { sub: 'privacy-desk' } });
  }, 60_000);
  afterAll(async () => {
    await rt?.stop();
    await mongo?.dispose();
  });

  const call = async (method: string, path: string) => {
    const res = await fetch(`${rt.runtime.url}${path}`, { method, headers: { authorization: `Bearer ${admin}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('deletes a chat with a socket open and a run going: the run stops, the socket closes 4410, nothing is left', async () => {
    const token = await launch('gil', 'chat_gil_secret');
    const client = await WsTestClient.connect(rt.wsUrl(token));
    await client.exchange('my card is 4111 1111 1111 1111');
    rt.llm.push({ content: 'one two three four five six seven eight nine ten', usage, piece_delay_ms: 200 });
    const streamed = client.deltas.length;
    client.send({ type: 'user_message', content: 'count slowly' });
    await client.waitForDeltas(streamed + 1);

    const deleted = await call('DELETE', '/v1/chats/chat_gil_secret?user_id=gil');
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ deleted: { chats: 1, events: expect.any(Number) } });
    expect((deleted.body.deleted as { events: number }).events).toBeGreaterThan(4);
    expect(await client.closed()).toBe(4410);
    // The run was cancelled, not left to finish: after the reply would have streamed, nothing came back.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await traces(rt, mongo, ['chat_gil_secret', '4111 1111'])).toEqual([]);
    expect(await call('GET', '/v1/chats/chat_gil_secret?user_id=gil')).toMatchObject({ status: 404 });
    const audit = rt.logs().filter((l) => l.message === 'data request');
    expect(audit.at(-1)).toMatchObject({
      level: 'INFO',
      kind: 'delete_chat',
      app_id: APP,
      user_id: 'gil',
      chat_ids: ['chat_gil_secret'],
      chats: 1,
      caller_sub: 'privacy-desk',
    });
    expect(JSON.stringify(audit)).not.toContain('4111');

    // The same again: nothing left to delete, the same answer.
    expect(await call('DELETE', '/v1/chats/chat_gil_secret?user_id=gil')).toEqual({
      status: 200,
      body: { deleted: { chats: 0, events: 0 } },
    });
    // The launch token opens a new, empty chat under the same id: the model sees none of the old one.
    const again = await WsTestClient.connect(`${rt.wsUrl(token)}&last_seq=0`);
    await again.exchange('hello again');
    expect(again.events.some((e) => JSON.stringify(e).includes('4111'))).toBe(false);
    expect(JSON.stringify(rt.llm.requests.at(-1)!.messages)).not.toContain('4111');
    await again.close();
  }, 60_000);

  it("erases a user: every chat of theirs in the app, nobody else's, with counts and an audit line", async () => {
    for (const chat of ['chat_hal_1', 'chat_hal_2']) {
      const client = await WsTestClient.connect(rt.wsUrl(await launch('hal', chat)));
      await client.exchange(`hal's private note in ${chat}`);
      await client.close();
    }
    const other = await WsTestClient.connect(rt.wsUrl(await launch('ivy', 'chat_ivy')));
    await other.exchange('ivy stays');
    await other.close();
    const before = await call('GET', '/v1/chats/chat_ivy/events?user_id=ivy');

    const erased = await call('DELETE', '/v1/users/hal');
    expect(erased).toMatchObject({
      status: 200,
      // Standalone has no usage streams (no NATS): nothing to remove there.
      body: { deleted: { chats: 2, events: expect.any(Number), dead_letters: 0, usage_events: 0 } },
    });
    expect(await traces(rt, mongo, ['"hal"', 'chat_hal_', "hal's private"])).toEqual([]);
    expect(await call('GET', '/v1/chats?user_id=hal')).toMatchObject({ body: { chats: [] } });
    expect(await call('GET', '/v1/chats/chat_ivy/events?user_id=ivy')).toEqual(before);
    expect(
      rt
        .logs()
        .filter((l) => l.message === 'data request')
        .at(-1),
    ).toMatchObject({
      kind: 'erase_user',
      user_id: 'hal',
      chat_ids: ['chat_hal_1', 'chat_hal_2'],
      chats: 2,
      usage: false,
      caller_sub: 'privacy-desk',
      caller_iss: 'your-control-plane.com',
    });
    const metrics = await (await fetch(`${rt.runtime.url}/metrics`)).text();
    expect(metrics).toMatch(/^data_requests_total\{kind="erase_user"\} 1$/m);
  }, 60_000);
});
