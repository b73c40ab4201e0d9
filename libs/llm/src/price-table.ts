// Model prices in USD per million tokens, and the cost of a call under them.
import type { LlmCallUsage, ModelUsage } from '@mozaiks/protocol';
import defaultPrices from './default-prices.json';

export interface ModelPrice {
  /** USD per million prompt (input) tokens. */
  prompt: number;
  /** USD per million completion (output) tokens. */
  completion: number;
}

/** List prices of common OpenAI models (default-prices.json); override or extend with MODEL_PRICES. */
export const DEFAULT_MODEL_PRICES: Readonly<Record<string, ModelPrice>> = defaultPrices;

export class PriceTable {
  private readonly prices: Map<string, ModelPrice>;

  constructor(overrides: Record<string, ModelPrice> = {}, base: Record<string, ModelPrice> = DEFAULT_MODEL_PRICES) {
    this.prices = new Map(Object.entries({ ...base, ...overrides }));
  }

  /**
   * The price of `model`: an exact entry, else the longest entry it extends with a dated or
   * versioned suffix (`gpt-4o-2024-08-06` → `gpt-4o`); a provider prefix (`openai/`) is ignored.
   */
  priceOf(model: string): ModelPrice | undefined {
    const name = model.slice(model.lastIndexOf('/') + 1);
    const exact = this.prices.get(name);
    if (exact) return exact;
    let best: string | undefined;
    for (const key of this.prices.keys()) {
      if (name.startsWith(`${key}-`) && (!best || key.length > best.length)) best = key;
    }
    return best ? this.prices.get(best) : undefined;
  }

  /** Cost in USD of the given tokens on `model`; 0 for a model with no price. */
  cost(model: string, promptTokens: number, completionTokens: number): number {
    const price = this.priceOf(model);
    if (!price) return 0;
    return roundUsd((promptTokens * price.prompt + completionTokens * price.completion) / 1_000_000);
  }
}

/** Rounds to a billionth of a dollar, so sums of prices do not print float noise. */
export function roundUsd(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

/** A run's calls summed by model and priced: the body of its `usage_update`. */
export function priceCalls(
  calls: readonly LlmCallUsage[],
  prices: PriceTable,
): { models: ModelUsage[]; cost_usd: number; estimated: boolean } {
  const byModel = new Map<string, ModelUsage>();
  for (const call of calls) {
    const m = byModel.get(call.model) ?? {
      model: call.model,
      calls: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      cost_usd: 0,
    };
    m.calls += 1;
    m.prompt_tokens += call.prompt_tokens;
    m.completion_tokens += call.completion_tokens;
    m.total_tokens += call.total_tokens;
    byModel.set(call.model, m);
  }
  const models = [...byModel.values()].map((m) => ({
    ...m,
    cost_usd: prices.cost(m.model, m.prompt_tokens, m.completion_tokens),
  }));
  return {
    models,
    cost_usd: roundUsd(models.reduce((sum, m) => sum + m.cost_usd, 0)),
    estimated: calls.some((c) => c.estimated === true),
  };
}
