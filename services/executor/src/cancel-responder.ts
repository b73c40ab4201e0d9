// While a chat is served here, its cancels come here: a client's `cancel` (from any gateway)
// stops the run going now, or is answered that none is.
import type { Bus, Subscription } from '@mozaiks/bus';
import { ChatControl } from '@mozaiks/protocol';
import type { ChatControlReply, ChatNudge, Subjects } from '@mozaiks/protocol';
import type { Logger } from '@mozaiks/telemetry';
import type { ActiveChat } from './active-chat.js';

/** Answers the chat's cancel requests until unsubscribed. */
export function answerCancels(
  options: { bus: Bus; subjects: Subjects; logger: Logger },
  nudge: ChatNudge,
  chat: ActiveChat,
): Subscription {
  const subject = options.subjects.control(nudge.app_id, nudge.chat_id);
  return options.bus.serve<ChatControl, ChatControlReply>(subject, async (message) => {
    const request = ChatControl.safeParse(message.data);
    const current = chat.current;
    const mine = request.success && request.data.user_id === nudge.user_id;
    if (!mine || !current || (request.data.run_id !== undefined && request.data.run_id !== current.runId)) {
      return { v: 1, run_id: null };
    }
    current.cancel.abort();
    options.logger.info(
      { app_id: nudge.app_id, user_id: nudge.user_id, chat_id: nudge.chat_id, run_id: current.runId },
      'run cancelled by the client',
    );
    return { v: 1, run_id: current.runId };
  });
}
