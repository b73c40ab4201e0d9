// An agent whose replies have a schema (`structured_output`): a reply that does not match gets
// one chance to correct itself, unseen by the client; a second miss fails the run as an LLM error.
import { parseStructuredReply } from '@mozaiks/workflows';
import type { AgentDefinition } from '@mozaiks/workflows';
import type { ConversableAgent } from '../conversable-agent.js';
import { LlmCallError } from '../ports.js';
import type { LlmRequest, LlmResponse } from '../ports.js';
import type { RunContext } from '../run/run-context.js';

type StructuredOutput = NonNullable<AgentDefinition['structured_output']>;

/** Problems of a reply meant to be JSON of a schema; empty when it is. */
export function checkStructured(content: string | null, check: (value: unknown) => string[]): string[] {
  const value = parseStructuredReply(content);
  return value === undefined ? ['the reply is not JSON'] : check(value);
}

/**
 * The reply as its schema wants it, asking once more when it does not match, and its parsed value.
 * The missed reply is billed with the next step. @throws LlmCallError when the second reply misses too
 */
export async function checkedStructuredReply(
  run: RunContext,
  agent: ConversableAgent,
  request: LlmRequest,
  first: LlmResponse,
  output: StructuredOutput,
): Promise<{ reply: LlmResponse; structured: unknown }> {
  let reply = first;
  let problems = checkStructured(reply.content, output.check);
  if (problems.length) {
    run.journal.billWithNextStep(reply.usage);
    const retried = performance.now();
    const correction = `Your reply must be only JSON matching the schema ${output.name}. Problems: ${problems.join('; ')}`;
    reply = await run.ports.llm.complete(
      {
        ...request,
        messages: [
          ...request.messages,
          { role: 'assistant', content: reply.content },
          { role: 'user', content: correction },
        ],
      },
      run.input.callSignal ? { signal: run.input.callSignal } : {},
    );
    run.journal.count(reply.usage, performance.now() - retried);
    problems = checkStructured(reply.content, output.check);
  }
  if (problems.length) {
    run.journal.billWithNextStep(reply.usage);
    throw new LlmCallError(
      `agent ${agent.name}'s reply does not match its structured output ${output.name}: ${problems.join('; ')}`,
      { retryable: true },
    );
  }
  return { reply, structured: parseStructuredReply(reply.content) };
}
