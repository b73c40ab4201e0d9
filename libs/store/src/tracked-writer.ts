// A ChatWriter that keeps the chat's state as it appends, so a writer running several inputs in a
// row reads the log once: what it appended is what the log now holds after what it read.
import type { ServerEvent } from '@mozaiks/protocol';
import type { ChatRecord, ChatWriter, LogStep, StoredMessage, UnfinishedRun } from './chat-log.js';

export interface WriterState {
  chat: ChatRecord;
  messages: StoredMessage[];
  inputsDone: number;
  unfinishedRun: UnfinishedRun | undefined;
}

export class TrackedWriter implements ChatWriter {
  constructor(
    private readonly state: WriterState,
    private readonly persist: (step: LogStep) => Promise<ServerEvent[]>,
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

  async append(step: LogStep): Promise<ServerEvent[]> {
    const events = await this.persist(step);
    const s = this.state;
    if (step.messages) s.messages.push(...step.messages);
    const { awaiting: _closed, ...chat } = s.chat;
    s.chat = {
      ...chat,
      last_seq: Math.max(s.chat.last_seq, ...events.map((e) => e.seq ?? 0)),
      ...(step.context ? { context: step.context } : {}),
      ...(step.awaitInput ? { awaiting: step.awaitInput } : {}),
    };
    const run = step.run;
    if (run?.finish) {
      s.inputsDone = Math.max(s.inputsDone, run.input_seq);
      s.unfinishedRun = undefined;
    } else if (run) {
      const earlier = s.unfinishedRun?.run_id === run.run_id ? s.unfinishedRun.calls : [];
      s.unfinishedRun = { run_id: run.run_id, input_seq: run.input_seq, calls: [...earlier, ...(run.calls ?? [])] };
    }
    return events;
  }
}
