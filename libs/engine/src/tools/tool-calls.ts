// Reading the model's tool calls: their arguments (JSON text, not yet trusted) and, after a
// crash, which of them have no result yet.
import type { ChatMessage, LlmToolCall } from '../ports.js';

/** Tool calls of the agent's last reply in this run that have no result yet (after a crash). */
export function unansweredToolCalls(history: readonly ChatMessage[], agent: string, runId: string): LlmToolCall[] {
  const lastCall = [...history]
    .reverse()
    .find((m) => m.run_id === runId && m.role === 'assistant' && m.agent === agent);
  if (!lastCall || lastCall.role !== 'assistant' || !lastCall.tool_calls?.length) return [];
  const answered = new Set(history.flatMap((m) => (m.role === 'tool' ? [m.tool_call_id] : [])));
  return lastCall.tool_calls.filter((c) => !answered.has(c.id));
}

export function parseArguments(text: string): { args: Record<string, unknown>; problem?: string } {
  try {
    const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return { args: parsed as Record<string, unknown> };
    return { args: {}, problem: 'tool arguments must be a JSON object' };
  } catch {
    return { args: {}, problem: 'tool arguments are not valid JSON' };
  }
}
