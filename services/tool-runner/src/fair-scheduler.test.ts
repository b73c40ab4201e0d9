// Admission of tool calls: slots, shares per app, turns between apps, and refusals.
import { FairScheduler, SchedulerBusyError } from './fair-scheduler';

/** A task that runs until released, recording when it started. */
function gate(log: string[], label: string) {
  let release: () => void = () => undefined;
  const done = new Promise<void>((r) => (release = r));
  return { task: () => (log.push(label), done.then(() => label)), release: () => release() };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('FairScheduler', () => {
  it('gives each freed slot to the app served longest ago, not to the one that queued most', async () => {
    const scheduler = new FairScheduler({ concurrency: 1, perApp: 1, queueLimit: 100 });
    const started: string[] = [];
    const gates = ['a1', 'a2', 'a3', 'a4', 'b1', 'c1', 'b2'].map((label) => ({ label, ...gate(started, label) }));
    const runs = gates.map((g) => scheduler.schedule(g.label[0]!, 10_000, g.task));
    for (const label of ['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']) {
      await tick();
      expect(started.at(-1)).toBe(label);
      gates.find((g) => g.label === label)!.release();
    }
    await Promise.all(runs);
    expect(started).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('holds an app to its share while slots stay free for others', async () => {
    const scheduler = new FairScheduler({ concurrency: 4, perApp: 2, queueLimit: 100 });
    const started: string[] = [];
    const gates = ['a1', 'a2', 'a3', 'b1'].map((label) => ({ label, ...gate(started, label) }));
    const runs = gates.map((g) => scheduler.schedule(g.label[0]!, 10_000, g.task));
    await tick();
    expect(started).toEqual(['a1', 'a2', 'b1']);
    expect(scheduler.runningCount).toBe(3);
    expect(scheduler.waiting).toBe(1);
    gates[0]!.release();
    await tick();
    await tick();
    expect(started).toEqual(['a1', 'a2', 'b1', 'a3']);
    gates.forEach((g) => g.release());
    await Promise.all(runs);
    expect(scheduler.runningCount).toBe(0);
  });

  it('refuses a call when the queue is full and one that waited its time, leaving the rest in order', async () => {
    const scheduler = new FairScheduler({ concurrency: 1, perApp: 1, queueLimit: 2 });
    const started: string[] = [];
    const first = gate(started, 'first');
    const running = scheduler.schedule('a', 10_000, first.task);
    const impatient = scheduler.schedule('b', 20, gate(started, 'impatient').task);
    const patient = gate(started, 'patient');
    const waiting = scheduler.schedule('c', 10_000, patient.task);
    await expect(scheduler.schedule('d', 10_000, async () => 'never')).rejects.toBeInstanceOf(SchedulerBusyError);
    await expect(impatient).rejects.toMatchObject({
      code: 'tool_busy',
      retryable: true,
      message: expect.stringMatching(/no tool slot was free for 20 ms/),
    });
    first.release();
    patient.release();
    await expect(running).resolves.toBe('first');
    await expect(waiting).resolves.toBe('patient');
    expect(started).toEqual(['first', 'patient']);
  });

  it('frees the slot of a task that fails', async () => {
    const scheduler = new FairScheduler({ concurrency: 1, perApp: 1, queueLimit: 10 });
    await expect(
      scheduler.schedule('a', 1000, async () => {
        throw new Error('tool crashed');
      }),
    ).rejects.toThrow('tool crashed');
    await expect(scheduler.schedule('a', 1000, async () => 'next')).resolves.toBe('next');
  });
});
