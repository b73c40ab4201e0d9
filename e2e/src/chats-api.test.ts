// The control plane's API over chats (`/v1/...` on the runtime's port), as a control plane calls
// it: a token with scope chats:admin for one app, listing a user's chats page by page, reading a
// chat and its events, and every refusal with its code. On SQLite and on the MongoDB-wire server.
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

/** A control-plane token for `app_id` (the guide's unless given), from the support desk. */
function adminToken(claims: Record<string, unknown> = {}, expiresIn?: number): Promise<string> {
  return mintAdminToken({
    claims: { sub: 'support-desk', ...claims },
    ...(expiresIn === undefined ? {} : { expiresIn }),
  });
}

interface Summary {
  chat_id: string;
  user_id: string;
  last_activity_at: string;
  title: string | null;
  runs: number;
  last_status: string | null;
}

describe.each(stores)('the API over chats (%s)', (store) => {
  let mongo: MongoTestServer | undefined;
  let rt: TestRuntime;
  let admin: string;
  beforeAll(async () => {
    if (store === 'mongodb') mongo = await startMongoTestServer();
    rt = await startTestRuntime(mongo ? { mongo } : {});
    rt.llm.setFallback({ content: 'Hello there.', usage });
    admin = await adminToken();
  }, 60_000);
  afterAll(async () => {
    await rt?.stop();
    await mongo?.dispose();
  });

  const get = async (path: string, token: string | undefined = admin) => {
    const res = await fetch(`${rt.runtime.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /**
   * Opens the chat over POST /chat/start (a launch token of the user for that chat), with `content`
   * as its message when given (without, nothing runs: the workflow waits for the user).
   */
  const say = async (who: { user_id: string; app_id?: string }, chatId: string, content?: string) => {
    const token = await mintToken({ claims: { app_id: APP, ...who, workflow_id: 'hello', chat_id: chatId } });
    const res = await fetch(`${rt.runtime.url}/chat/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(content === undefined ? {} : { body: JSON.stringify({ content }) }),
    });
    expect(res.status).toBe(202);
  };

  it("lists a user's 250 chats page by page, each once, newest activity first; and only the app's", async () => {
    const made: string[] = [];
    for (let i = 0; i < 250; i += 25)
      await Promise.all(
        Array.from({ length: 25 }, (_, k) => {
          made.push(`chat_${i + k}`);
          // A few with a message (their title); the rest only opened, which runs no model.
          const content = (i + k) % 50 === 7 ? `message number ${i + k} ${'x'.repeat(100)}` : undefined;
          return say({ user_id: 'ada' }, `chat_${i + k}`, content);
        }),
      );
    await say({ user_id: 'bob' }, 'chat_bob', 'hi from bob');
    await say({ user_id: 'ada', app_id: 'app_other' }, 'chat_0', 'in another app');

    const seen: Summary[] = [];
    let pages = 0;
    for (let cursor: string | null = null; ; pages++) {
      const page = await get(`/v1/chats?user_id=ada&limit=40${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...(page.body.chats as Summary[]));
      cursor = page.body.next_cursor as string | null;
      if (!cursor) break;
    }
    expect(pages).toBe(6);
    expect(seen).toHaveLength(250);
    expect(new Set(seen.map((c) => c.chat_id))).toEqual(new Set(made));
    const key = (c: Summary) => `${c.last_activity_at}\u0000${c.user_id}\u0000${c.chat_id}`;
    expect(seen.map(key)).toEqual(seen.map(key).sort().reverse());
    const first = seen.find((c) => c.chat_id === 'chat_7')!;
    expect(first.title).toBe(`message number 7 ${'x'.repeat(80 - 'message number 7 '.length)}`);
    expect(seen.find((c) => c.chat_id === 'chat_8')!.title).toBeNull();

    const all = await get('/v1/chats?limit=200');
    expect((all.body.chats as Summary[]).map((c) => c.chat_id)).toContain('chat_bob');
    expect(all.body.next_cursor).toEqual(expect.any(String));
    const bobs = await get('/v1/chats?user_id=bob');
    expect(bobs.body).toMatchObject({ chats: [{ chat_id: 'chat_bob', title: 'hi from bob' }], next_cursor: null });
    const other = await get('/v1/chats?user_id=ada&limit=200', await adminToken({ app_id: 'app_other' }));
    expect((other.body.chats as Summary[]).map((c) => [c.chat_id, c.title])).toEqual([['chat_0', 'in another app']]);
  }, 120_000);

  it("reads a chat and pages its events exactly as a socket's replay sends them", async () => {
    const launch = await mintToken({
      claims: { app_id: APP, user_id: 'cy', workflow_id: 'hello', chat_id: 'chat_cy' },
    });
    const client = await WsTestClient.connect(rt.wsUrl(launch));
    await client.exchange('What time is it?');
    await client.exchange('And tomorrow?');
    await client.close();

    const chat = await get('/v1/chats/chat_cy?user_id=cy');
    expect(chat.status).toBe(200);
    expect(chat.body).toMatchObject({
      chat_id: 'chat_cy',
      user_id: 'cy',
      workflow_id: 'hello',
      title: 'What time is it?',
      // The chat's opening (on the socket's arrival) is a run too, one that asks nothing of the model.
      runs: 3,
      last_status: 'completed',
      context_variables: expect.any(Object),
    });

    const paged: string[] = [];
    for (let after = 0; ;) {
      const page = await get(`/v1/chats/chat_cy/events?user_id=cy&after_seq=${after}&limit=3`);
      expect(page.status).toBe(200);
      paged.push(...(page.body.events as unknown[]).map((e) => JSON.stringify(e)));
      if (page.body.next_after_seq === null) break;
      after = page.body.next_after_seq as number;
    }
    const replay = await WsTestClient.connect(`${rt.wsUrl(launch)}&last_seq=0`);
    const deadline = Date.now() + 10_000;
    while (replay.frames.length < paged.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await replay.close();
    expect(paged.length).toBeGreaterThan(6);
    expect(replay.frames).toEqual(paged);

    // The user's export: the chat (its history, the user's own words in it), then its events, as NDJSON.
    const exported = await fetch(`${rt.runtime.url}/v1/users/cy/export`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(exported.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await exported.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ chat: { chat_id: 'chat_cy', title: 'What time is it?', runs: 3 } });
    const history = JSON.stringify((lines[0]!.chat as { messages: unknown[] }).messages);
    expect(history).toContain('What time is it?');
    expect(history).toContain('And tomorrow?');
    expect(lines.slice(1).map((l) => JSON.stringify(l.event))).toEqual(paged);
    expect(
      rt
        .logs()
        .filter((l) => l.message === 'data request')
        .at(-1),
    ).toMatchObject({
      kind: 'export_user',
      user_id: 'cy',
      chat_ids: ['chat_cy'],
      events: paged.length,
      caller_sub: 'support-desk',
    });
  }, 60_000);

  it("forks a chat at a run's end: the new chat's next model call carries exactly the history up to there", async () => {
    const token = await mintToken({
      claims: { app_id: APP, user_id: 'fay', workflow_id: 'hello', chat_id: 'chat_fk' },
    });
    const client = await WsTestClient.connect(rt.wsUrl(token));
    const first = await client.exchange('Which plan suits me?');
    await client.exchange('And the price?');
    await client.close();
    const original = rt.llm.requests.at(-1)!;
    const before = await get('/v1/chats/chat_fk/events?user_id=fay&limit=1000');
    const end = first.find((e) => e.type === 'workflow_complete')!.seq as number;
    const mid = first.find((e) => e.type === 'agent_message')!.seq as number;

    const fork = (body: Record<string, unknown>, token = admin) =>
      fetch(`${rt.runtime.url}/v1/chats/chat_fk/fork`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    expect(await fork({ at_seq: mid, chat_id: 'chat_fk2', user_id: 'fay' })).toMatchObject({
      status: 400,
      body: { error: 'not_a_fork_point' },
    });
    expect(await fork({ at_seq: end, chat_id: 'chat_fk', user_id: 'fay' })).toMatchObject({
      status: 409,
      body: { error: 'chat_exists' },
    });
    expect(
      await fork({ at_seq: end, chat_id: 'chat_fk2', user_id: 'fay' }, await adminToken({ app_id: 'app_other' })),
    ).toMatchObject({
      status: 404,
    });
    expect(await fork({ at_seq: end, chat_id: 'chat_fk2' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    const made = await fork({ at_seq: end, chat_id: 'chat_fk2', user_id: 'fay' });
    expect(made).toMatchObject({ status: 201, body: { chat_id: 'chat_fk2', user_id: 'fay', workflow_id: 'hello' } });

    // "Edit and resend": the second question asked differently, on the fork.
    const forked = await WsTestClient.connect(
      `${rt.wsUrl(await mintToken({ claims: { app_id: APP, user_id: 'fay', workflow_id: 'hello', chat_id: 'chat_fk2' } }))}&last_seq=0`,
    );
    await forked.exchange('And the yearly price?');
    await forked.close();
    const sent = rt.llm.requests.at(-1)!;
    expect(sent.messages.slice(0, -1)).toEqual(original.messages.slice(0, -1));
    expect(sent.messages.at(-1)).toMatchObject({ role: 'user', content: 'And the yearly price?' });
    // The fork replays the first run's events as its own, then its new run.
    const replayed = forked.events.filter((e) => (e.seq as number) <= end);
    expect(replayed.map((e) => e.event_id)).toEqual(
      first.filter((e) => (e.seq as number) <= end).map((e) => e.event_id),
    );
    expect(replayed.every((e) => e.chat_id === 'chat_fk2')).toBe(true);
    // The original is as it was.
    expect(await get('/v1/chats/chat_fk/events?user_id=fay&limit=1000')).toEqual(before);
    expect(
      rt
        .logs()
        .filter((l) => l.message === 'data request')
        .at(-1),
    ).toMatchObject({
      kind: 'fork_chat',
      user_id: 'fay',
      chat_ids: ['chat_fk', 'chat_fk2'],
      at_seq: end,
    });
  }, 60_000);

  it('refuses a launch token, an expired or missing one, another app, and malformed calls, each with its code', async () => {
    await say({ user_id: 'dee' }, 'chat_dee', 'mine');
    const launch = await mintToken({
      claims: { app_id: APP, user_id: 'dee', workflow_id: 'hello', chat_id: 'chat_dee' },
    });
    expect(await get('/v1/chats?user_id=dee', launch)).toMatchObject({
      status: 403,
      body: { error: 'insufficient_scope', message: expect.stringContaining('chats:admin') },
    });
    expect(await get('/v1/chats', await adminToken({}, -60))).toMatchObject({
      status: 401,
      body: { error: 'unauthorized', message: 'token expired' },
    });
    expect(await get('/v1/chats', '')).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    // Another app's token finds nothing of this app: 404, never 403.
    const elsewhere = await adminToken({ app_id: 'app_other' });
    for (const path of ['/v1/chats/chat_dee?user_id=dee', '/v1/chats/chat_dee/events?user_id=dee'])
      expect(await get(path, elsewhere)).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await get('/v1/chats/chat_dee?user_id=dee')).toMatchObject({ status: 200, body: { title: 'mine' } });
    expect(await get('/v1/chats/chat_dee')).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', message: expect.stringContaining('user_id') },
    });
    expect(await get('/v1/chats?limit=0')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await get('/v1/chats?cursor=bm9wZQ')).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('cursor') },
    });
    expect(await get('/v1/nothing')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    const post = await fetch(`${rt.runtime.url}/v1/chats`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(post.status).toBe(405);
    expect(await post.json()).toMatchObject({ error: 'method_not_allowed' });
  }, 60_000);
});
