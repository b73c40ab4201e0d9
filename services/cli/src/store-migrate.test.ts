// `mozaiks store migrate`, run as an operator runs it: schema and indexes made once, and a whole
// embedded store copied into MongoDB, twice without doubling anything.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { UsageUpdateEvent } from '@mozaiks/protocol';
import { openStore } from '@mozaiks/store';
import type { ChatStores } from '@mozaiks/store';
import { makeTempDir, mongoTestServerAvailable, startMongoTestServer } from '@mozaiks/testing';
import type { MongoTestServer, TempDir } from '@mozaiks/testing';

const BIN = path.resolve(__dirname, '../bin/mozaiks.js');
const ada = { app_id: 'app_1', user_id: 'ada' };

function mozaiks(args: string[], env: Record<string, string>): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

let dir: TempDir;
beforeEach(() => {
  dir = makeTempDir('mozaiks-migrate-');
});
afterEach(() => dir.remove());

describe('mozaiks store migrate (SQLite)', () => {
  it('creates the schema once, then changes nothing', () => {
    const env = { DATA_DIR: path.join(dir.path, 'data') };
    expect(mozaiks(['store', 'migrate'], env)).toMatchObject({
      code: 0,
      out: expect.stringContaining('schema brought up to date'),
    });
    expect(mozaiks(['store', 'migrate'], env)).toMatchObject({
      code: 0,
      out: expect.stringContaining('nothing changed'),
    });
  });

  it('refuses a copy it cannot make, saying how to call it', () => {
    const run = mozaiks(['store', 'migrate', '--from', './.data', '--to', 'mongodb://127.0.0.1:1'], {
      DATA_DIR: dir.path,
    });
    expect(run.code).toBe(2);
    expect(run.err).toContain('--from must be sqlite:<data dir>');
  });
});

const describeIfMongo = mongoTestServerAvailable() ? describe : describe.skip;

describeIfMongo('mozaiks store migrate (MongoDB)', () => {
  let server: MongoTestServer;
  beforeAll(async () => {
    server = (await startMongoTestServer())!;
  }, 30_000);
  afterAll(async () => server.dispose());

  it('creates the indexes once, then changes nothing', () => {
    const env = {
      MONGODB_URI: server.uri,
      MONGODB_DATABASE: server.database(),
      DATA_DIR: path.join(dir.path, 'unused'),
    };
    expect(mozaiks(['store', 'migrate'], env)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/9 index\(es\) in place; created chats\.chats_by_activity, .*log\.log_by_step/),
    });
    expect(mozaiks(['store', 'migrate'], env)).toMatchObject({
      code: 0,
      out: expect.stringContaining('nothing changed'),
    });
  });

  it('copies every chat of an embedded store, resumably: history, events, inputs, the unfinished run, usage to publish', async () => {
    const dataDir = path.join(dir.path, 'data');
    const source = await openStore({ dataDir });
    const call = {
      call_id: 'x',
      agent: 'A',
      model: 'gpt-4o-mini',
      prompt_tokens: 1,
      completion_tokens: 2,
      total_tokens: 3,
    };
    const usage = {
      type: 'usage_update',
      event_id: 'usage_run_1',
      chat_id: 'c1',
      user_id: 'ada',
      app_id: 'app_1',
      workflow_id: 'wf',
      run_id: 'run_1',
      tokens: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      total_tokens: 3,
      cost_usd: 0,
      models: [],
      timestamp: new Date().toISOString(),
    } as UsageUpdateEvent;
    for (const id of ['r1', 'r2', 'r3'])
      await source.inbox.accept(ada, 'c1', {
        request_id: id,
        workflow_id: 'wf',
        content: id,
        context: {},
        received_at: new Date().toISOString(),
      });
    const lease = (await source.inbox.acquire(ada, 'c1', 'exec', 10_000))!;
    const writer = await source.log.openWriter(lease, 'wf');
    const agentSaid = (id: string) =>
      ({
        type: 'agent_message',
        chat_id: 'c1',
        event_id: id,
        timestamp: new Date().toISOString(),
        run_id: 'run_1',
        agent: 'A',
        content: id,
      }) as never;
    await writer.append({
      messages: [
        { role: 'user', content: 'r1' },
        { role: 'assistant', content: 'a1' },
      ],
      events: [agentSaid('e1')],
      context: { tier: 'gold' },
      run: { run_id: 'run_1', input_seq: 1, workflow_id: 'wf', calls: [call], finish: 'completed', usage },
    });
    await writer.append({
      messages: [{ role: 'user', content: 'r2' }],
      events: [agentSaid('e2')],
      awaitInput: { request_id: 'q1', agent: 'A' },
      run: { run_id: 'run_2', input_seq: 2, workflow_id: 'wf', calls: [call, call] },
    });
    await source.inbox.release(lease, { inputsDone: writer.inputsDone, position: writer.position });
    await source.close();

    const database = server.database();
    const copy = () =>
      mozaiks(['store', 'migrate', '--from', `sqlite:${dataDir}`, '--to', server.uri], { MONGODB_DATABASE: database });
    const first = copy();
    expect(first.err).toBe('');
    expect(first).toMatchObject({
      code: 0,
      out: expect.stringContaining('copied 1 chat(s): 3 message(s), 3 event(s), 3 input(s), 2 run(s)'),
    });
    expect(copy()).toMatchObject({ code: 0, out: expect.stringContaining('copied 1 chat(s)') });

    const target: ChatStores = await openStore({
      mongodbUri: server.uri,
      mongodbDatabase: database,
      dataDir: '/nonexistent',
    });
    try {
      expect(await target.log.getChat(ada, 'c1')).toMatchObject({
        workflow_id: 'wf',
        last_seq: 3,
        context: { tier: 'gold' },
        awaiting: { request_id: 'q1', agent: 'A' },
      });
      expect((await target.log.listMessages(ada, 'c1')).map((m) => m.content)).toEqual(['r1', 'a1', 'r2']);
      expect((await target.log.listEvents(ada, 'c1')).map((e) => [e.event_id, e.seq])).toEqual([
        ['e1', 1],
        ['usage_run_1', 2],
        ['e2', 3],
      ]);
      expect((await target.inbox.pending(ada, 'c1', 0)).map((i) => i.request_id)).toEqual(['r1', 'r2', 'r3']);
      expect((await target.inbox.unpublishedUsage(ada, 'c1')).map((u) => u.event_id)).toEqual(['usage_run_1']);
      expect((await target.inbox.chatsWithWork()).map((c) => c.chat_id)).toEqual(['c1']);
      // A writer on MongoDB continues where the embedded store left off.
      const next = (await target.inbox.acquire(ada, 'c1', 'exec-m', 10_000))!;
      const continued = await target.log.openWriter(next, 'wf');
      expect(continued.inputsDone).toBe(1);
      expect(continued.unfinishedRun).toEqual({ run_id: 'run_2', input_seq: 2, calls: [call, call] });
      expect((await continued.append({ events: [agentSaid('e3')] }))[0]!.seq).toBe(4);
    } finally {
      await target.close();
    }
  });
});
