// Token counts made locally, for a call whose endpoint reported none (a stream without usage, a
// proxy that drops it, a call cut short): with OpenAI's own encodings (gpt-tokenizer), so an
// estimate bills close to what the provider counts. An encoding loads on first use (about 0.3 s
// of CPU for o200k, once per process; js-tiktoken took a second to parse the same ranks).
import type { LlmRequest, LlmResponse } from '@mozaiks/engine';

/** Tokens a chat message costs beyond its text (role and separators), as OpenAI documents. */
const PER_MESSAGE = 4;
/** Tokens that prime every reply. */
const PER_REPLY = 3;

type Counter = (text: string) => number;

const counters = new Map<string, Counter>();

/** The encoding of a model: o200k for the gpt-4o and o-series families, cl100k for older ones. */
function encodingOf(model: string): 'o200k_base' | 'cl100k_base' {
  return /^(gpt-4-|gpt-4$|gpt-3\.5|text-embedding)/.test(model) && !/^gpt-4o/.test(model)
    ? 'cl100k_base'
    : 'o200k_base';
}

function counter(model: string): Counter {
  const name = encodingOf(model);
  let found = counters.get(name);
  if (!found) {
    // Loaded only when an estimate is needed: the ranks are several megabytes.
    // Synchronous and lazy on purpose: require, not import.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const encoding = (
      name === 'o200k_base'
        ? require('gpt-tokenizer/encoding/o200k_base')
        : require('gpt-tokenizer/encoding/cl100k_base')
    ) as { countTokens: Counter };
    /* eslint-enable @typescript-eslint/no-require-imports */
    found = (text) => encoding.countTokens(text);
    counters.set(name, found);
  }
  return found;
}

/** Tokens of `text` for `model`. */
export function countTokens(model: string, text: string): number {
  return text ? counter(model)(text) : 0;
}

/** Tokens the request's messages and tools cost, as prompt. */
export function estimatePromptTokens(model: string, request: Pick<LlmRequest, 'messages' | 'tools'>): number {
  let total = PER_REPLY;
  for (const m of request.messages) {
    total += PER_MESSAGE + countTokens(model, m.content ?? '');
    if ('name' in m && m.name) total += countTokens(model, m.name);
    if (m.role === 'assistant')
      for (const c of m.tool_calls ?? []) total += countTokens(model, c.name) + countTokens(model, c.arguments);
  }
  if (request.tools.length) total += countTokens(model, JSON.stringify(request.tools));
  return total;
}

/** Tokens a reply of `content` and `toolCalls` costs, as completion. */
export function estimateCompletionTokens(
  model: string,
  content: string | null,
  toolCalls: ReadonlyArray<{ name: string; arguments: string }> = [],
): number {
  return (
    countTokens(model, content ?? '') +
    toolCalls.reduce((n, c) => n + countTokens(model, c.name) + countTokens(model, c.arguments), 0)
  );
}

/** The usage of a call the endpoint reported none for, counted here and marked `estimated`. */
export function estimatedUsage(
  request: Pick<LlmRequest, 'agent' | 'messages' | 'tools'>,
  model: string,
  callId: string,
  content: string | null,
  toolCalls: ReadonlyArray<{ name: string; arguments: string }> = [],
): LlmResponse['usage'] {
  const prompt_tokens = estimatePromptTokens(model, request);
  const completion_tokens = estimateCompletionTokens(model, content, toolCalls);
  return {
    call_id: callId,
    agent: request.agent,
    model,
    prompt_tokens,
    completion_tokens,
    total_tokens: prompt_tokens + completion_tokens,
    estimated: true,
  };
}
