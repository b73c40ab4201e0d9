// The OpenAI-compatible LLM client, the price table, and the wire format served by test and demo endpoints.
// The engine defines the error every LLM client throws; this client produces it.
export { LlmCallError } from '@mozaiks/engine';
export { OpenAiLlmClient } from './openai-llm-client.js';
export type { OpenAiLlmClientOptions } from './openai-llm-client.js';
export { DEFAULT_MODEL_PRICES, PriceTable, priceCalls, roundUsd } from './price-table.js';
export type { ModelPrice } from './price-table.js';
export { startChatCompletionsServer } from './openai-wire.js';
export type {
  ChatCompletionsServer,
  CompletionHandler,
  CompletionReply,
  CompletionRequestBody,
  WireToolCall,
} from './openai-wire.js';
export { DEMO_MODEL_NOTE, demoReply, startDemoLlm } from './demo-endpoint.js';
