// The Bus contract: what every adapter must do. Run it against an adapter with `busContract`.
import { BusError } from './bus';
import type { Bus, BusMessage } from './bus';

export interface BusFactory {
  /** A fresh bus; several calls may share one server (to test delivery between connections). */
  create(): Promise<Bus>;
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await tick(5);
  }
}

export function busContract(name: string, factory: BusFactory): void {
  describe(`Bus contract: ${name}`, () => {
    let bus: Bus;
    beforeEach(async () => {
      bus = await factory.create();
    });
    afterEach(async () => bus.drain());

    it('delivers to exact, `*` and `>` subscribers, in order, and not to others', async () => {
      const got: Record<string, unknown[]> = { exact: [], star: [], tail: [], other: [] };
      bus.subscribe('t.chat.app1.c1', (m) => void got.exact!.push(m.data));
      bus.subscribe('t.chat.*.c1', (m) => void got.star!.push(m.data));
      bus.subscribe('t.chat.>', (m) => void got.tail!.push(m.data));
      bus.subscribe('t.chat.app2.*', (m) => void got.other!.push(m.data));
      await tick();
      for (let i = 0; i < 20; i++) await bus.publish('t.chat.app1.c1', { i });
      await until(() => got.exact!.length === 20 && got.star!.length === 20 && got.tail!.length === 20);
      expect(got.exact).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));
      expect(got.star).toEqual(got.exact);
      expect(got.other).toEqual([]);
    });

    it('gives each message to one member of a queue group', async () => {
      const a: number[] = [];
      const b: number[] = [];
      bus.subscribe<{ i: number }>('t.work', (m) => void a.push(m.data.i), { queue: 'g' });
      bus.subscribe<{ i: number }>('t.work', (m) => void b.push(m.data.i), { queue: 'g' });
      await tick();
      for (let i = 0; i < 40; i++) await bus.publish('t.work', { i });
      await until(() => a.length + b.length === 40);
      await tick();
      expect([...a, ...b].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    });

    it('answers requests, and reports no responders and timeouts as BusErrors', async () => {
      bus.serve<{ n: number }, { doubled: number }>('t.svc.double', async (m) => ({ doubled: m.data.n * 2 }), {
        queue: 'svc',
      });
      await tick();
      await expect(bus.request('t.svc.double', { n: 21 }, { timeoutMs: 2000 })).resolves.toEqual({ doubled: 42 });
      const none = bus.request('t.svc.nobody', {}, { timeoutMs: 2000 });
      await expect(none).rejects.toBeInstanceOf(BusError);
      await expect(none).rejects.toMatchObject({ code: 'no_responders' });
      bus.serve('t.svc.slow', () => new Promise((r) => setTimeout(r, 500)));
      await tick();
      await expect(bus.request('t.svc.slow', {}, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'timeout' });
    });

    it('copies payloads: a receiver never shares memory with the sender', async () => {
      const sent = { nested: { value: 1 } };
      let received: BusMessage<typeof sent> | undefined;
      bus.subscribe<typeof sent>('t.copy', (m) => void (received = m));
      await tick();
      await bus.publish('t.copy', sent);
      sent.nested.value = 2;
      await until(() => received !== undefined);
      expect(received!.data.nested.value).toBe(1);
    });

    it('delivers durable work to one consumer of a group, again when it is not acknowledged', async () => {
      const attempts: number[] = [];
      bus.consume<{ job: string }>('t.jobs.>', 'workers', async (_m, attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error('not yet');
      });
      await tick();
      await bus.publish('t.jobs.a', { job: 'a' }, { msgId: 'job-a' });
      await until(() => attempts.length === 3, 10_000);
      await tick(300);
      expect(attempts).toEqual([1, 2, 3]);
    });

    it('handles at most `concurrency` messages of a consume at once; the rest wait and all are handled', async () => {
      let running = 0;
      let peak = 0;
      const done: string[] = [];
      bus.consume<{ job: string }>(
        't.bounded.>',
        'workers',
        async (m) => {
          running++;
          peak = Math.max(peak, running);
          await tick(20);
          running--;
          done.push(m.data.job);
        },
        { concurrency: 3 },
      );
      await tick();
      for (let i = 0; i < 12; i++) await bus.publish(`t.bounded.${i}`, { job: `j${i}` }, { msgId: `bounded-${i}` });
      await until(() => done.length === 12, 10_000);
      expect(peak).toBe(3);
      expect(done.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `j${i}`).sort());
    });

    it('stores a durable message once per msgId', async () => {
      const seen: string[] = [];
      bus.consume<{ job: string }>('t.dedupe.>', 'workers', async (m) => void seen.push(m.data.job));
      await tick();
      await bus.publish('t.dedupe.x', { job: 'first' }, { msgId: 'same-id' });
      await bus.publish('t.dedupe.x', { job: 'second' }, { msgId: 'same-id' });
      await bus.publish('t.dedupe.x', { job: 'third' }, { msgId: 'other-id' });
      await until(() => seen.length >= 2);
      await tick(100);
      expect(seen).toEqual(['first', 'third']);
    });

    it('runs work once per key: repeated calls get the first result', async () => {
      {
        let runs = 0;
        const work = async () => {
          runs++;
          await tick(100);
          return { answer: 42, runs };
        };
        const options = { ttlMs: 60_000, waitMs: 5000 };
        const key = `call-${Math.random()}`;
        const [a, b] = await Promise.all([bus.once(key, work, options), bus.once(key, work, options)]);
        expect(runs).toBe(1);
        expect(a).toEqual({ answer: 42, runs: 1 });
        expect(b).toEqual(a);
        // Later, too, the same result; another key runs again.
        expect(await bus.once(key, work, options)).toEqual(a);
        expect(await bus.once(`${key}-2`, work, options)).toEqual({ answer: 42, runs: 2 });
      }
    });

    it('drains: handlers in flight finish, and what they publish is still delivered', async () => {
      const finished: string[] = [];
      bus.subscribe('t.drain.in', async () => {
        await tick(50);
        await bus.publish('t.drain.out', {});
        finished.push('in');
      });
      bus.subscribe('t.drain.out', () => void finished.push('out'));
      await tick();
      await bus.publish('t.drain.in', {});
      await tick(5);
      await bus.drain();
      expect(finished.sort()).toEqual(['in', 'out']);
      bus = await factory.create();
    });
  });
}
