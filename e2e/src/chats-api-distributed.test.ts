// The API over chats on the distributed runtime: a user erased through the gateway while their
// socket is open there and their run goes on an executor process; their billing records and dead
// letters leave the NATS streams (read back with consumers of the test's own), another user's stay.
import Database from 'better-sqlite3';
import path from 'node:path';
import { WsTestClient, mintAdminToken, mintToken } from '@mozaiks/testing';
import type { UsageUpdateEvent } from '@mozaiks/protocol';
import { startCluster, until } from './cluster';
import type { Cluster } from './cluster';

const usage = { prompt_tokens: 6, completion_tokens: 2 };

/** The event ids a stream holds on `subject`, read from its start. */
async function held(cluster: Cluster, subject: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const m of cluster.observer.read<{ event_id: string }>(subject)) ids.push(m.data.event_id);
  return ids;
}

describe('the API over chats on the distributed runtime', () => {
  let cluster: Cluster;
  afterEach(async () => cluster?.stop());

  it('erases a user through the gateway: socket closed 4410, run stopped, their records gone from store and streams', async () => {
    cluster = await startCluster();
    cluster.llm.setFallback({ content: 'Understood.', usage });
    const billed: Array<{ user_id: string; event_id: string }> = [];
    cluster.observer.subscribe<{ user_id: string; event_id: string }>(
      'mozaiks.usage.>',
      (m) => void billed.push(m.data),
    );
    const launch = (user: string) => mintToken({ claims: { user_id: user, chat_id: `chat_${user}` } });
    const lou = await WsTestClient.connect(cluster.wsUrl(0, await launch('lou')));
    await lou.exchange('my phone is 555-0101');
    const max = await WsTestClient.connect(cluster.wsUrl(0, await launch('max')));
    await max.exchange('max is here');
    await max.close();
    await until(() => billed.length === 2, 10_000, 'both billing records');
    const louUsage = billed.find((b) => b.user_id === 'lou')!.event_id;
    // A dead letter of each, as a webhook sink that gave up leaves it.
    for (const [user, id] of [
      ['lou', louUsage],
      ['max', 'usage_of_max'],
    ] as const) {
      const event = { event_id: id, app_id: 'app_456', user_id: user } as unknown as UsageUpdateEvent;
      await cluster.observer.publish(`mozaiks.usage_dead.sinkA.${id}`, {
        v: 1,
        sink_id: 'sinkA',
        sink: 'billing.example.com',
        event_id: id,
        app_id: 'app_456',
        attempts: 3,
        last_status: 500,
        reason: 'HTTP 500',
        dead_at: new Date().toISOString(),
        event,
      });
    }

    cluster.llm.push({ content: 'one two three four five six seven eight', usage, piece_delay_ms: 250 });
    const streamed = lou.deltas.length;
    lou.send({ type: 'user_message', content: 'count for me' });
    await lou.waitForDeltas(streamed + 1);
    const admin = await mintAdminToken({ claims: { sub: 'privacy' } });
    const gateway = cluster.services.gateway[0]!;
    const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/users/lou?usage=true`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      deleted: { chats: 1, events: expect.any(Number), dead_letters: 1, usage_events: 2 },
    });
    expect(await lou.closed()).toBe(4410);

    await new Promise((r) => setTimeout(r, 2500));
    const db = new Database(path.join(cluster.dataDir.path, 'mozaiks.sqlite'), { readonly: true });
    try {
      for (const table of ['chats', 'messages', 'events', 'inputs', 'runs', 'leases'])
        expect(db.prepare(`SELECT * FROM ${table} WHERE user_id = 'lou'`).all()).toEqual([]);
      expect(JSON.stringify(db.prepare('SELECT body FROM messages').all())).not.toContain('555-0101');
      expect(db.prepare("SELECT chat_id FROM chats WHERE user_id = 'max'").all()).toEqual([{ chat_id: 'chat_max' }]);
    } finally {
      db.close();
    }
    expect(await held(cluster, 'mozaiks.usage.>')).toHaveLength(1);
    expect(await held(cluster, 'mozaiks.usage.app_456.lou')).toEqual([]);
    expect(await held(cluster, 'mozaiks.usage_dead.*.*')).toEqual(['usage_of_max']);
    expect(gateway.output).toMatch(/"kind":"erase_user"[^\n]*"user_id":"lou"[^\n]*"message":"data request"/);
  }, 90_000);
});
