// What a client sends on its socket, each frame handled after the one before: messages and
// answers (taken in through the input intake), resumes, token refreshes and cancels. A frame that
// is refused gets an `error` and changes nothing.
import type { RawData } from 'ws';
import { BusError } from '@mozaiks/bus';
import type { Bus } from '@mozaiks/bus';
import { errorMessage } from '@mozaiks/common';
import { ErrorCode, newEventId } from '@mozaiks/protocol';
import type { ChatControl, ChatControlReply, ClientMessage, Subjects, UserMessage } from '@mozaiks/protocol';
import { answerRequestId } from '@mozaiks/store';
import type { ChatInbox, ChatLog, NewInput } from '@mozaiks/store';
import { SpanKind, startSpan } from '@mozaiks/telemetry';
import type { ChatConnection } from './chat-connection.js';
import type { DoorLimits } from './door-limits.js';
import type { TokenCheck } from './handshake.js';
import { newInput } from './input-intake.js';
import type { InputIntake } from './input-intake.js';

type Outcome = 'accepted' | 'repeated' | 'failed' | 'busy';

export class ClientCommands {
  constructor(
    private readonly options: {
      bus: Bus;
      log: ChatLog;
      inbox: ChatInbox;
      subjects: Subjects;
      intake: InputIntake;
      tokens: TokenCheck;
      door: DoorLimits;
      doubleTexting: 'enqueue' | 'reject' | 'interrupt';
    },
  ) {}

  /** Handles one frame of the socket's client. */
  async receive(c: ChatConnection, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return c.reject(ErrorCode.InvalidMessage, 'binary frames are not accepted; send JSON text');
    const parsed = c.dialect.parse(data.toString());
    if (!parsed.ok) return c.reject(parsed.code, parsed.message);
    return this.handle(c, parsed.message);
  }

  private async handle(c: ChatConnection, message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'resume': {
        const from = message.last_seq;
        return c.enqueue(() => c.resume(from));
      }
      case 'user_input':
        return this.answer(c, { request_id: message.request_id }, message.content);
      case 'ui_tool_response':
        return this.answer(c, { tool_call_id: message.tool_call_id }, JSON.stringify(message.response));
      case 'refresh':
        return this.refresh(c, message.token);
      case 'cancel':
        return this.cancel(c, message.run_id);
      case 'user_message':
        return this.userMessage(c, message);
    }
  }

  private async userMessage(c: ChatConnection, message: UserMessage): Promise<void> {
    const { launch } = c;
    if (message.chat_id !== undefined && message.chat_id !== launch.chat_id) {
      const refused = `chat_id "${message.chat_id}" is not the chat this token was issued for`;
      return c.reject(ErrorCode.IdentityMismatch, refused);
    }
    if (message.user_id !== undefined && message.user_id !== launch.user_id) {
      const refused = `user_id "${message.user_id}" is not the user this token was issued for`;
      return c.reject(ErrorCode.IdentityMismatch, refused);
    }
    if (!this.withinRate(c)) return;
    await c.opened;
    // The user message's trace: this span, the run it causes and everything the run does.
    const span = startSpan('chat user_message', { kind: SpanKind.SERVER, attributes: spanAttributes(c) });
    const input = newInput(launch, message.content, span.traceparent);
    c.log.info({ request_id: input.request_id, trace_id: span.traceId }, 'user message received');
    const mode = this.options.doubleTexting;
    if (mode === 'interrupt') await this.requestCancel(c);
    span.end({ 'mozaiks.input.outcome': await this.accept(c, input, 'message', mode === 'reject') });
  }

  /**
   * Accepts the answer to the chat's open input request (a `user_input`) or UI tool (a
   * `ui_tool_response`, whose response is `content` as JSON), once; the run goes on from there.
   */
  private async answer(
    c: ChatConnection,
    answered: { request_id: string } | { tool_call_id: string },
    content: string,
  ): Promise<void> {
    await c.opened;
    const refuse = () =>
      c.reject(
        ErrorCode.NoSuchInputRequest,
        'request_id' in answered
          ? `no open input request "${answered.request_id.slice(0, 200)}" in this chat`
          : `no UI tool call "${answered.tool_call_id.slice(0, 200)}" is waiting for a response in this chat`,
      );
    let open;
    try {
      open = (await this.options.log.getChat(c.tenant, c.launch.chat_id))?.awaiting;
    } catch (error) {
      c.log.error({ error: errorMessage(error) }, 'could not read the chat');
      return c.reject(ErrorCode.Internal, 'the answer could not be stored; send it again', true);
    }
    const matches =
      'request_id' in answered
        ? open?.request_id === answered.request_id && open.tool_call_id === undefined
        : open?.tool_call_id === answered.tool_call_id;
    if (!open || !matches) return refuse();
    if (!this.withinRate(c)) return;
    const name = `chat ${'request_id' in answered ? 'user_input' : 'ui_tool_response'}`;
    const span = startSpan(name, { kind: SpanKind.SERVER, attributes: spanAttributes(c) });
    const input: NewInput = {
      ...newInput(c.launch, content, span.traceparent),
      request_id: answerRequestId(open.request_id),
      kind: 'input',
      answers: open,
    };
    // Accepted once per request: a second answer finds the first in the inbox.
    const outcome = await this.accept(c, input, 'answer');
    span.end({ 'mozaiks.input.outcome': outcome });
    if (outcome === 'repeated') refuse();
  }

  /** Whether the user may send one more message now (USER_MESSAGES_PER_MINUTE); if not, it is refused, not stored. */
  private withinRate(c: ChatConnection): boolean {
    const allowed = this.options.door.message(c.tenant);
    if (allowed.ok) return true;
    const wait = allowed.retryAfterMs;
    c.reject(ErrorCode.RateLimited, `too many messages: send it again in ${Math.ceil(wait / 1000)} s`, true, wait);
    return false;
  }

  /** Stores the input (with DOUBLE_TEXTING=reject, only when the chat is idle) and announces it; a failure is told. */
  private async accept(
    c: ChatConnection,
    input: NewInput,
    what: 'message' | 'answer',
    onlyIfIdle = false,
  ): Promise<Outcome> {
    const { intake, log } = this.options;
    let admitted;
    try {
      if (onlyIfIdle) {
        const done = (await log.getChat(c.tenant, c.launch.chat_id))?.inputs_done ?? 0;
        admitted = await intake.admitIfIdle(c.launch, input, done + 1, c.log);
        // The chat's opening is not something the user sent: a message waits behind it.
        if (!admitted && (await this.onlyOpeningWaits(c, done))) admitted = await intake.admit(c.launch, input, c.log);
        if (!admitted) {
          c.reject(
            ErrorCode.RunInProgress,
            'a run of this chat is going; send the message again when it has ended',
            true,
          );
          return 'busy';
        }
      } else {
        admitted = await intake.admit(c.launch, input, c.log);
      }
    } catch (error) {
      c.log.error({ error: errorMessage(error) }, `could not store user ${what}`);
      c.reject(ErrorCode.Internal, `the ${what} could not be stored; send it again`, true);
      return 'failed';
    }
    return admitted.created ? 'accepted' : 'repeated';
  }

  /** Whether all that waits in the chat's inbox after `done` is its opening. */
  private async onlyOpeningWaits(c: ChatConnection, done: number): Promise<boolean> {
    const ahead = await this.options.inbox.pending(c.tenant, c.launch.chat_id, done, 8);
    return ahead.length > 0 && ahead.every((i) => i.kind === 'open');
  }

  /** `cancel`: stops the chat's current run, wherever it runs; says so when there is none. */
  private async cancel(c: ChatConnection, runId: string | undefined): Promise<void> {
    const outcome = await this.requestCancel(c, runId);
    if (outcome === 'none') {
      const message = runId
        ? `run "${runId.slice(0, 200)}" is not a run of this chat that is going`
        : 'no run of this chat is going';
      c.reject(ErrorCode.NoActiveRun, message);
    } else if (outcome === 'failed') {
      c.reject(ErrorCode.Internal, 'the cancel could not be delivered; send it again', true);
    }
  }

  /** Asks the executor serving the chat to cancel its current run (the run's events say it ended). */
  private async requestCancel(c: ChatConnection, runId?: string): Promise<'cancelled' | 'none' | 'failed'> {
    const { launch } = c;
    const request: ChatControl = {
      v: 1,
      app_id: launch.app_id,
      user_id: launch.user_id,
      chat_id: launch.chat_id,
      action: 'cancel',
      ...(runId ? { run_id: runId } : {}),
    };
    try {
      const subject = this.options.subjects.control(launch.app_id, launch.chat_id);
      const reply = await this.options.bus.request<ChatControlReply>(subject, request, { timeoutMs: 2000 });
      return reply.run_id ? 'cancelled' : 'none';
    } catch (error) {
      // Nobody serves the chat: no run is going.
      if (error instanceof BusError && error.code === 'no_responders') return 'none';
      c.log.warn({ error: errorMessage(error) }, 'could not deliver a cancel');
      return 'failed';
    }
  }

  /** Replaces the socket's token with a newer one for the same chat, checked as at the handshake. */
  private async refresh(c: ChatConnection, token: string): Promise<void> {
    const fresh = await this.options.tokens.verify(token, c.remote);
    if (typeof fresh === 'string') {
      return c.reject(ErrorCode.Unauthorized, `refresh refused: ${fresh}; the current token stays`);
    }
    const differs = (['user_id', 'app_id', 'workflow_id', 'chat_id'] as const).find((k) => fresh[k] !== c.launch[k]);
    if (differs) {
      const refused = `refresh refused: the new token's ${differs} is not this socket's; the current token stays`;
      return c.reject(ErrorCode.Unauthorized, refused);
    }
    // Custom claims and max_tokens follow the newest token, for the messages sent from now on.
    c.refreshed(fresh);
    const expiresAt = new Date(fresh.expires_at * 1000).toISOString();
    c.log.info({ expires_at: expiresAt }, 'launch token refreshed');
    const timestamp = new Date().toISOString();
    c.send({
      type: 'token_refreshed',
      chat_id: fresh.chat_id,
      event_id: newEventId(),
      timestamp,
      expires_at: expiresAt,
    });
  }
}

/** What a span says of the chat it belongs to: ids, never content. */
export function spanAttributes(c: Pick<ChatConnection, 'launch'>): Record<string, string> {
  const { launch } = c;
  return {
    'mozaiks.app_id': launch.app_id,
    'mozaiks.user_id': launch.user_id,
    'mozaiks.chat_id': launch.chat_id,
    'mozaiks.workflow_id': launch.workflow_id,
  };
}
