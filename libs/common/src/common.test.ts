// The helpers every room shares: what a retry waits, what an error says, how sleep stops.
import { backoffDelay, errorMessage, sleep } from './index';

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
