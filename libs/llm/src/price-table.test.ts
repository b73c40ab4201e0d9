// Prices: exact names, dated and provider-prefixed variants, overrides, unknown models.
import { PriceTable } from './price-table';

describe('PriceTable', () => {
  const table = new PriceTable({ 'my-model': { prompt: 1, completion: 2 }, 'gpt-4o': { prompt: 5, completion: 15 } });

  it('prices a call in USD per million tokens', () => {
    expect(table.cost('gpt-4', 1200, 800)).toBe(0.084);
    expect(table.cost('my-model', 1_000_000, 500_000)).toBe(2);
  });

  it('finds dated and prefixed variants by the longest matching name', () => {
    expect(table.priceOf('gpt-4o-mini-2024-07-18')).toEqual({ prompt: 0.15, completion: 0.6 });
    expect(table.priceOf('gpt-4-0613')).toEqual({ prompt: 30, completion: 60 });
    expect(table.priceOf('openai/gpt-4o')).toEqual({ prompt: 5, completion: 15 });
  });

  it('prices unknown models at 0', () => {
    expect(table.priceOf('llama-3-70b')).toBeUndefined();
    expect(table.cost('llama-3-70b', 1000, 1000)).toBe(0);
  });
});
