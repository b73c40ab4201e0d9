// A ChatWriter that keeps the chat's state as it appends, so a writer running several inputs in a
// row reads the log once: what it appended is what the log now holds after what it read. Its state
// can be handed to the next writer of the same process, which then reads only what others added.
import type { ServerEvent } from '@mozaiks/protocol';
import type { Lease } from './lease.js';
import { LeaseLostError } from './lease.js';
import type { ChatRecord, ChatWriter, LogStep, StoredMessage, UnfinishedRun } from './chat-log.js';

export interface WriterState {
  chat: ChatRecord;
  messages: StoredMessage[];
  inputsDone: number;
  unfinishedRun: UnfinishedRun | undefined;
  /** The log's position after the last step this state includes. */
  position: number;
  /** The newest lease epoch among the steps this state includes (0: none known). */
  epoch: number;
}

/** Persists one step after `state`; returns its events with their seqs and the log's position after it. */
export type PersistStep = (
  step: LogStep,
  state: Readonly<WriterState>,
) => Promise<{ events: ServerEvent[]; position: number }>;

export class TrackedWriter implements ChatWriter {
  /** Set once a successor took this writer's state: it may not append any more. */
  private retired = false;

  constructor(
    readonly lease: Lease,
    private readonly state: WriterState,
    private readonly persist: PersistStep,
  ) {}

  get chat(): ChatRecord {
    return this.state.chat;
  }
  get messages(): readonly StoredMessage[] {
    return this.state.messages;
  }
  get inputsDone(): number {
    return this.state.inputsDone;
  }
  get unfinishedRun(): UnfinishedRun | undefined {
    return this.state.unfinishedRun;
  }
  get position(): number {
    return this.state.position;
  }

  /**
   * The state of `previous` for a new writer of the same chat, retiring `previous`; undefined when
   * it is not a writer of this kind on that chat.
   */
  static takeState(previous: ChatWriter | undefined, lease: Lease): WriterState | undefined {
    if (!(previous instanceof TrackedWriter) || previous.retired) return undefined;
    const same =
      previous.lease.chatId === lease.chatId &&
      previous.lease.tenant.app_id === lease.tenant.app_id &&
      previous.lease.tenant.user_id === lease.tenant.user_id;
    if (!same) return undefined;
    previous.retired = true;
    return previous.state;
  }

  async append(step: LogStep): Promise<ServerEvent[]> {
    if (this.retired) throw new LeaseLostError(this.lease);
    const { events, position } = await this.persist(step, this.state);
    applyStep(this.state, step, events, position);
    this.state.epoch = Math.max(this.state.epoch, this.lease.epoch);
    return events;
  }
}

/** Brings `state` forward by a step just committed at `position` (its events as stored). */
export function applyStep(state: WriterState, step: LogStep, events: readonly ServerEvent[], position: number): void {
  if (step.messages) state.messages.push(...step.messages);
  const { awaiting: _closed, ...chat } = state.chat;
  state.chat = {
    ...chat,
    last_seq: Math.max(state.chat.last_seq, ...events.map((e) => e.seq ?? 0)),
    ...(step.context ? { context: step.context } : {}),
    ...(step.awaitInput ? { awaiting: step.awaitInput } : {}),
    ...(step.workflowVersion ? { workflow_version: step.workflowVersion } : {}),
  };
  const run = step.run;
  if (run?.finish) {
    state.inputsDone = Math.max(state.inputsDone, run.input_seq);
    state.chat = { ...state.chat, inputs_done: state.inputsDone };
    state.unfinishedRun = undefined;
  } else if (run) {
    const earlier = state.unfinishedRun?.run_id === run.run_id ? state.unfinishedRun.calls : [];
    state.unfinishedRun = { run_id: run.run_id, input_seq: run.input_seq, calls: [...earlier, ...(run.calls ?? [])] };
  }
  state.position = position;
}
