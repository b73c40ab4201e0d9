// A run as its steps share it: the input, the ports, the journal that bills and commits, the
// chat's history (growing as steps are committed) and its context variables (changed in place).
import type { EventBody } from '@mozaiks/protocol';
import type { ChatMessage } from '../ports.js';
import type { BillingJournal } from './billing-journal.js';
import type { RunPorts, RunScope } from './run-types.js';

export interface RunContext {
  readonly input: RunScope;
  /** The run's ports, their journal being `journal`. */
  readonly ports: RunPorts;
  readonly journal: BillingJournal;
  /** The chat so far: what was loaded, then each message as its step is committed. */
  readonly history: ChatMessage[];
  /** The chat's context variables, updated in place by tools, hooks and the agents' words. */
  readonly variables: Record<string, unknown>;
}

/** Where the run goes after a turn: an agent, `user`, `terminate`, or null (every agent had its say). */
export type NextSpeaker = string | null;

/** A UI tool the run stopped at: the chat waits, durably, for the client's response. */
export interface ParkedUiTool {
  request: { request_id: string; agent: string; tool_call_id: string };
  /** The `ui_tool` event that shows it to the client. */
  event: EventBody;
}

/** How a turn ended: with where the run goes next, or parked on a UI tool. */
export type TurnEnd = { kind: 'next'; next: NextSpeaker } | { kind: 'parked'; parked: ParkedUiTool };
