// Where a run started again (same run id) picks up: the history tells which turns ended, and a
// turn cut short after a tool round goes on with the same agent.
import type { ChatMessage } from '../ports.js';

/** What this run's own history says of how far it got. */
export interface ResumePoint {
  /** The agents whose turns ended, in order. */
  spoken: string[];
  /** The last turn that ended, and where it said the run goes (undefined: ask the pattern). */
  lastTurn: { agent: string; next: string | null | undefined } | undefined;
  /** The last reply written in this run. */
  lastReply: Extract<ChatMessage, { role: 'assistant' }> | undefined;
  /** An agent whose turn was interrupted after a tool round: it speaks again first. */
  resuming: string | undefined;
}

/** The resume point of the run whose messages (in history order) are `mine`. */
export function resumePoint(mine: readonly ChatMessage[]): ResumePoint {
  // A turn ends with a final reply, or with a tool round in which a tool handed the conversation over.
  const turnEnds = mine.flatMap((m) =>
    m.role === 'assistant' && m.final
      ? [{ agent: m.agent, next: m.ended === 'terminated' ? 'terminate' : m.next }]
      : m.role === 'tool' && m.ends_turn
        ? [{ agent: m.agent, next: m.ends_turn.next }]
        : [],
  );
  const reversed = [...mine].reverse();
  const lastEnd = reversed.find((m) => (m.role === 'assistant' && m.final) || (m.role === 'tool' && m.ends_turn));
  const lastReply = reversed.find((m): m is Extract<ChatMessage, { role: 'assistant' }> => m.role === 'assistant');
  const interrupted =
    lastReply !== undefined && !lastReply.final && mine.indexOf(lastReply) > (lastEnd ? mine.indexOf(lastEnd) : -1);
  return {
    spoken: turnEnds.map((m) => m.agent),
    lastTurn: turnEnds.at(-1),
    lastReply,
    resuming: interrupted ? lastReply.agent : undefined,
  };
}
