// Summaries of the benchmarks' samples: percentiles of one run, min/median/max over rounds.

export interface Percentiles {
  p50: number;
  p99: number;
}

export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Min, median and max of one figure over several rounds. */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** `min / median / max` with `digits` decimals and a unit. */
export function showSpread(s: Spread, unit = '', digits = 1): string {
  const f = (v: number) => `${v.toFixed(digits)}${unit}`;
  return s.min === s.max ? f(s.median) : `${f(s.min)} / ${f(s.median)} / ${f(s.max)}`;
}

export const ms = (v: number, digits = 2) => `${v.toFixed(digits)} ms`;
