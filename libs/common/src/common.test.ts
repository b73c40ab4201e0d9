// The helpers every room shares: what a retry waits, what an error says, how sleep stops.
import { Batcher, FairGate, backoffDelay, errorMessage, sleep } from './index';

describe('backoffDelay', () => {
  const policy = { initialMs: 200, maxMs: 1000 };

  it('doubles from the first wait up to the ceiling, without jitter', () => {
    const waits = [1, 2, 3, 4, 5].map((n) => backoffDelay({ ...policy, jitter: 'none' }, n));
    expect(waits).toEqual([200, 400, 800, 1000, 1000]);
  });

  it('draws a full-jitter wait between nothing and the ceiling, an equal-jitter one from its half', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(400);
    expect(backoffDelay({ ...policy, jitter: 'equal' }, 3, () => 0)).toBe(400);
    expect(backoffDelay({ ...policy, jitter: 'equal' }, 3, () => 1)).toBe(800);
  });

  it('grows by the factor given', () => {
    expect(backoffDelay({ initialMs: 100, maxMs: 10_000, factor: 3, jitter: 'none' }, 3)).toBe(900);
  });
});

describe('errorMessage', () => {
  it('is the message of an Error and the text of anything else thrown', () => {
    expect(errorMessage(new TypeError('bad input'))).toBe('bad input');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage(42)).toBe('42');
  });
});

describe('sleep', () => {
  it('waits about as long as asked, and ends at once when its signal aborts', async () => {
    const started = Date.now();
    await sleep(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const stop = new AbortController();
    const cut = Date.now();
    const waiting = sleep(10_000, stop.signal);
    stop.abort();
    await waiting;
    expect(Date.now() - cut).toBeLessThan(1000);
  });
});

describe('FairGate', () => {
  /** Work that finishes when told to, recording its start. */
  function piece(log: string[], name: string) {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    return { work: () => (log.push(name), done), finish };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it("lets another app's work through before the rest of one app's burst", async () => {
    const gate = new FairGate({ concurrency: 2 });
    const started: string[] = [];
    const burst = Array.from({ length: 6 }, (_, i) => piece(started, `A${i}`));
    const runs = burst.map((p, i) => gate.run('A', `user${i}`, p.work));
    const b = piece(started, 'B0');
    const bRun = gate.run('B', 'solo', b.work);
    await tick();
    expect(started).toEqual(['A0', 'A1']);
    expect(gate.waiting).toBe(5);
    burst[0]!.finish();
    await tick();
    expect(started).toEqual(['A0', 'A1', 'B0']);
    b.finish();
    for (const p of burst) p.finish();
    await Promise.all([...runs, bRun]);
    expect(started).toEqual(['A0', 'A1', 'B0', 'A2', 'A3', 'A4', 'A5']);
    expect(gate.running()).toBe(0);
  });

  it('keeps one app to its cap, the rest of its work waiting, never refused', async () => {
    const gate = new FairGate({ concurrency: 10, perApp: 2 });
    const started: string[] = [];
    const burst = Array.from({ length: 5 }, (_, i) => piece(started, `A${i}`));
    const runs = burst.map((p) => gate.run('A', 'u', p.work));
    const b = piece(started, 'B0');
    const bRun = gate.run('B', 'u', b.work);
    await tick();
    expect(started).toEqual(['A0', 'A1', 'B0']);
    expect(gate.running('A')).toBe(2);
    let most = 0;
    for (const p of burst) {
      p.finish();
      await tick();
      most = Math.max(most, gate.running('A'));
    }
    b.finish();
    await Promise.all([...runs, bRun]);
    expect(most).toBe(2);
    expect(started.filter((s) => s.startsWith('A'))).toHaveLength(5);
  });

  it("takes an app's users in turn: a user who queued much waits behind one who queued once", async () => {
    const gate = new FairGate({ concurrency: 1 });
    const started: string[] = [];
    const first = piece(started, 'x');
    const held = gate.run('A', 'u0', first.work);
    const many = Array.from({ length: 3 }, (_, i) => piece(started, `u1-${i}`));
    const runs = many.map((p) => gate.run('A', 'u1', p.work));
    const once = piece(started, 'u2-0');
    runs.push(gate.run('A', 'u2', once.work));
    first.finish();
    for (const p of [...many, once]) p.finish();
    await Promise.all([held, ...runs]);
    expect(started).toEqual(['x', 'u1-0', 'u2-0', 'u1-1', 'u1-2']);
  });

  it('lets at most perTick pieces through in one turn of the event loop, and one more of an app new to the turn', async () => {
    const gate = new FairGate({ concurrency: 100, perTick: 2 });
    const started: string[] = [];
    const runs = Array.from({ length: 5 }, (_, i) => gate.run('A', `u${i}`, async () => void started.push(`A${i}`)));
    await Promise.resolve();
    // The turn's places are used up by A; the one kept for another app is not A's.
    expect(started).toEqual(['A0', 'A1']);
    runs.push(gate.run('B', 'u', async () => void started.push('B0')));
    runs.push(gate.run('C', 'u', async () => void started.push('C0')));
    await Promise.resolve();
    // B takes the kept place in this very turn; C, later still, waits for the next, ahead of A.
    expect(started).toEqual(['A0', 'A1', 'B0']);
    await tick();
    expect(started).toEqual(['A0', 'A1', 'B0', 'C0', 'A2']);
    await Promise.all(runs);
    expect(started).toEqual(['A0', 'A1', 'B0', 'C0', 'A2', 'A3', 'A4']);
  });
});

describe('FairGate refusals', () => {
  it('refuses a piece when the line is full and one that waited its longest, leaving the rest in order', async () => {
    const gate = new FairGate({ concurrency: 1, queueLimit: 2 });
    const started: string[] = [];
    let releaseFirst!: () => void;
    const running = gate.run('a', 'u', () => (started.push('first'), new Promise<void>((r) => (releaseFirst = r))));
    const impatient = gate.run('b', 'u', async () => void started.push('impatient'), { maxWaitMs: 20 });
    const patient = gate.run('c', 'u', async () => void started.push('patient'), { maxWaitMs: 10_000 });
    await expect(gate.run('d', 'u', async () => 'never')).rejects.toMatchObject({ reason: 'full', waiting: 2 });
    await expect(impatient).rejects.toMatchObject({
      name: 'GateRefusedError',
      reason: 'timeout',
      waitedMs: 20,
      message: 'no place was free for 20 ms (1 running, 1 waiting)',
    });
    expect(gate.waiting).toBe(1);
    releaseFirst();
    await Promise.all([running, patient]);
    expect(started).toEqual(['first', 'patient']);
  });

  it('frees the place of work that fails', async () => {
    const gate = new FairGate({ concurrency: 1, queueLimit: 10 });
    await expect(
      gate.run('a', 'u', async () => {
        throw new Error('tool crashed');
      }),
    ).rejects.toThrow('tool crashed');
    await expect(gate.run('a', 'u', async () => 'next')).resolves.toBe('next');
    expect(gate.running()).toBe(0);
  });
});

describe('Batcher', () => {
  it('hands what is added in one turn to one call, and tells each caller how it went', async () => {
    const calls: number[][] = [];
    let fail = false;
    const batcher = new Batcher<number>(async (items) => {
      calls.push(items);
      if (fail) throw new Error('store away');
    });
    await Promise.all([batcher.add(1), batcher.add(2), batcher.add(3)]);
    await batcher.add(4);
    expect(calls).toEqual([[1, 2, 3], [4]]);
    fail = true;
    const outcomes = await Promise.allSettled([batcher.add(5), batcher.add(6)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(calls.at(-1)).toEqual([5, 6]);
  });

  it('sends a full batch at once, without waiting for the turn to end', async () => {
    const calls: string[][] = [];
    const batcher = new Batcher<string>(async (items) => void calls.push(items), { maxItems: 2 });
    const done = [batcher.add('a'), batcher.add('b')];
    // Sent before this turn ends.
    expect(calls).toEqual([['a', 'b']]);
    done.push(batcher.add('c'));
    await Promise.all(done);
    expect(calls).toEqual([['a', 'b'], ['c']]);
  });
});
