// An OpenAI-compatible endpoint whose answers a test scripts, speaking real HTTP (JSON and SSE).
// It records every request, so a test can assert what the model was shown.
import { startChatCompletionsServer } from '@mozaiks/llm';
import type { CompletionReply, CompletionRequestBody } from '@mozaiks/llm';

export type ScriptStep = CompletionReply | ((request: CompletionRequestBody) => CompletionReply);

export interface ScriptedLlm {
  /** Base URL for an OpenAI client (`http://127.0.0.1:<port>/v1`). */
  readonly url: string;
  /** Every request body received, in order. */
  readonly requests: CompletionRequestBody[];
  /** Authorization headers received, in order. */
  readonly authorizations: (string | undefined)[];
  /** Queues more answers. */
  push(...steps: ScriptStep[]): void;
  /** Answers every request for which the queue is empty. */
  setFallback(step: ScriptStep | undefined): void;
  close(): Promise<void>;
}

/**
 * Starts the endpoint. Each request takes the next queued step; with none queued it gets the
 * fallback, or HTTP 500 "script exhausted" so an unexpected call fails the test loudly.
 */
export async function startScriptedLlm(steps: ScriptStep[] = []): Promise<ScriptedLlm> {
  const queue = [...steps];
  const requests: CompletionRequestBody[] = [];
  const authorizations: (string | undefined)[] = [];
  let fallback: ScriptStep | undefined;
  const server = await startChatCompletionsServer((body, headers) => {
    requests.push(body);
    authorizations.push(headers.authorization);
    const step = queue.shift() ?? fallback;
    if (!step)
      return {
        error: { status: 500, message: 'script exhausted: the test did not expect this call', type: 'server_error' },
      };
    return typeof step === 'function' ? step(body) : step;
  });
  return {
    url: server.url,
    requests,
    authorizations,
    push: (...more) => void queue.push(...more),
    setFallback: (step) => void (fallback = step),
    close: () => server.close(),
  };
}
