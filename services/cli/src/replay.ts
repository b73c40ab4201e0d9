// `mozaiks replay <chat>`: a chat's history as the store keeps it, event by event, for support and
// audits: what a client resuming from 0 would receive.
import { loadRuntimeConfig } from '@mozaiks/config';
import type { ServerEvent } from '@mozaiks/protocol';
import { UsageError, parseFlags } from './flags.js';
import { openConfiguredStore } from './configured-store.js';

const PAGE = 500;

/** One line per event: its seq, time, type and what it says. */
function describe(e: ServerEvent): string {
  const head = `${String(e.seq ?? '-').padStart(5)}  ${e.timestamp}  ${e.type}`;
  switch (e.type) {
    case 'agent_message':
      return `${head}  ${e.agent}: ${e.content}`;
    case 'tool_call':
      return `${head}  ${e.agent} → ${e.name}(${JSON.stringify(e.arguments)})`;
    case 'tool_result':
      return `${head}  ${e.name}: ${e.ok ? JSON.stringify(e.result) : `failed: ${e.error?.code} ${e.error?.message}`}`;
    case 'input_request':
      return `${head}  ${e.agent} asks (${e.request_id}): ${e.prompt}`;
    case 'ui_tool':
      return `${head}  ${e.agent} shows ${e.component} (${e.tool_call_id})`;
    case 'workflow_complete':
      return `${head}  ${e.status}, ${e.reason}, ${e.turns} turn(s)`;
    case 'usage_update':
      return `${head}  ${e.total_tokens} tokens, $${e.cost_usd}`;
    case 'usage_delta':
      return `${head}  ${e.agent} ${e.model}: ${e.total_tokens} tokens`;
    case 'error':
      return `${head}  ${e.code}: ${e.message}`;
    case 'hook':
      return `${head}  ${e.hook} ${e.name}: ${e.ok ? 'ok' : `failed: ${e.error?.code}`}`;
    default:
      return head;
  }
}

/** Prints the chat's events from the configured store; 1 when it has none. */
export async function replayChat(args: string[], out: (line: string) => void): Promise<number> {
  const [chat, ...rest] = args;
  if (!chat || chat.startsWith('-'))
    throw new UsageError(
      'mozaiks replay needs the chat id: mozaiks replay <chat> [--app dev_app] [--user dev_user] [--json]',
    );
  const flags = parseFlags(rest, {
    app: { type: 'string', default: 'dev_app' },
    user: { type: 'string', default: 'dev_user' },
    json: { type: 'boolean' },
  });
  const config = loadRuntimeConfig();
  const stores = await openConfiguredStore(config);
  try {
    const tenant = { app_id: flags.app, user_id: flags.user };
    const record = await stores.log.getChat(tenant, chat);
    if (!record) {
      out(`no chat ${chat} of app ${flags.app} and user ${flags.user} in ${stores.location}`);
      return 1;
    }
    let after = 0;
    for (;;) {
      const page = await stores.log.listEvents(tenant, chat, after, PAGE);
      for (const e of page) out(flags.json ? JSON.stringify(e) : describe(e));
      if (page.length < PAGE) break;
      after = page.at(-1)!.seq!;
    }
    return 0;
  } finally {
    await stores.close();
  }
}
