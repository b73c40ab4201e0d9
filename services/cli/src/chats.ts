// `mozaiks chats …` and `mozaiks users …`: the control-plane API's calls for operators, on the
// store (MONGODB_URI, else SQLite under DATA_DIR) and NATS (NATS_URL) directly, through the same
// code as the HTTP API (@mozaiks/chat-admin), audited the same way (on stderr, as `data request`).
import { userInfo } from 'node:os';
import { MemoryBus, NatsBus } from '@mozaiks/bus';
import type { Bus } from '@mozaiks/bus';
import { AdminError, ChatAdmin } from '@mozaiks/chat-admin';
import { loadRuntimeConfig } from '@mozaiks/config';
import { Id, subjects } from '@mozaiks/protocol';
import type { AdminCaller, ChatSummary } from '@mozaiks/protocol';
import { connectConfiguredBus } from './configured-bus.js';
import { RuntimeMetrics, createLogger } from '@mozaiks/telemetry';
import { openConfiguredStore } from './configured-store.js';
import { UsageError, parseFlags } from './flags.js';

type Out = (line: string) => void;

/** `mozaiks chats list|show|export|delete|fork …` */
export async function chatsCommand(args: string[], out: Out): Promise<number> {
  const [sub, ...rest] = args;
  const positional = rest[0]?.startsWith('-') ? undefined : rest[0];
  const flags = parseFlags(positional ? rest.slice(1) : rest, {
    app: { type: 'string' },
    user: { type: 'string' },
    workflow: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    'at-seq': { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
  });
  const app = required('app', flags.app);
  if (sub === 'list')
    return withAdmin(app, async (admin, caller) => {
      const limit = flags.limit === undefined ? 50 : whole('limit', flags.limit, 1, 200);
      const page = await admin.listChats(caller, {
        limit,
        ...(flags.user ? { user_id: id('user', flags.user) } : {}),
        ...(flags.workflow ? { workflow_id: id('workflow', flags.workflow) } : {}),
        ...(flags.cursor ? { cursor: flags.cursor } : {}),
      });
      for (const chat of page.chats) out(flags.json ? JSON.stringify(chat) : describe(chat));
      if (page.next_cursor)
        out(flags.json ? JSON.stringify({ next_cursor: page.next_cursor }) : `next: --cursor ${page.next_cursor}`);
      return 0;
    });
  const chat = id('chat', positional);
  const user = required('user', flags.user);
  if (sub === 'show')
    return withAdmin(app, async (admin, caller) => {
      const detail = await admin.getChat(caller, chat, user);
      out(
        flags.json
          ? JSON.stringify(detail)
          : `${describe(detail)}\n  context: ${JSON.stringify(detail.context_variables)}`,
      );
      return 0;
    });
  if (sub === 'export')
    return withAdmin(app, async (admin, caller) => {
      for await (const line of admin.exportUser(caller, user, [chat])) out(line.trimEnd());
      return 0;
    });
  if (sub === 'delete')
    return withAdmin(app, async (admin, caller) => {
      const { deleted } = await admin.deleteChat(caller, chat, user);
      out(flags.json ? JSON.stringify({ deleted }) : `deleted ${deleted.chats} chat(s), ${deleted.events} event(s)`);
      return 0;
    });
  if (sub === 'fork')
    return withAdmin(app, async (admin, caller) => {
      const atSeq = whole('at-seq', required('at-seq', flags['at-seq']), 0, Number.MAX_SAFE_INTEGER);
      const made = await admin.forkChat(caller, chat, {
        at_seq: atSeq,
        chat_id: id('to', required('to', flags.to)),
        user_id: user,
      });
      out(flags.json ? JSON.stringify(made) : `forked ${chat} at seq ${atSeq} into ${made.chat_id}`);
      return 0;
    });
  throw new UsageError(`mozaiks chats takes list, show, export, delete or fork${sub ? ` (got "${sub}")` : ''}`);
}

/** `mozaiks users erase|export <user> --app <app> [--usage]` */
export async function usersCommand(args: string[], out: Out): Promise<number> {
  const [sub, user, ...rest] = args;
  const flags = parseFlags(rest, { app: { type: 'string' }, usage: { type: 'boolean' }, json: { type: 'boolean' } });
  const app = required('app', flags.app);
  const userId = id('user', user);
  if (sub === 'erase')
    return withAdmin(app, async (admin, caller) => {
      const { deleted } = await admin.eraseUser(caller, userId, flags.usage ?? false);
      out(
        flags.json
          ? JSON.stringify({ deleted })
          : `erased ${deleted.chats} chat(s), ${deleted.events} event(s), ${deleted.dead_letters} dead letter(s), ${deleted.usage_events} billing record(s)`,
      );
      return 0;
    });
  if (sub === 'export')
    return withAdmin(app, async (admin, caller) => {
      for await (const line of admin.exportUser(caller, userId)) out(line.trimEnd());
      return 0;
    });
  throw new UsageError(`mozaiks users takes erase or export${sub ? ` (got "${sub}")` : ''}`);
}

/** Runs `work` with the API's calls on the configured store and bus; a refused call is exit code 1, said plainly. */
async function withAdmin(
  app: string,
  work: (admin: ChatAdmin, caller: AdminCaller) => Promise<number>,
): Promise<number> {
  const config = loadRuntimeConfig();
  const stores = await openConfiguredStore(config);
  let bus: Bus = new MemoryBus();
  if (config.NATS_URL) {
    try {
      bus = await connectConfiguredBus({ ...config, NATS_URL: config.NATS_URL });
    } catch (error) {
      await stores.close();
      throw error;
    }
  }
  // The audit line goes to stderr: stdout is the answer.
  const logger = createLogger({ service: 'cli', level: 'info', destination: process.stderr });
  const admin = new ChatAdmin({
    ...stores,
    bus,
    subjects: subjects(config.SUBJECT_PREFIX),
    ...(bus instanceof NatsBus ? { streams: bus } : {}),
    logger,
    metrics: new RuntimeMetrics({ processMetrics: false }),
    releaseWaitMs: config.CHAT_LEASE_SECONDS * 2000,
  });
  const caller: AdminCaller = { app_id: app, iss: 'mozaiks-cli', sub: userInfo().username };
  try {
    return await work(admin, caller);
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    process.stderr.write(`${error.code}: ${error.message}\n`);
    return 1;
  } finally {
    await bus.drain();
    await stores.close();
  }
}

function describe(c: ChatSummary): string {
  return `${c.chat_id}  user ${c.user_id}  ${c.workflow_id}  last ${c.last_activity_at}  ${c.runs} run(s), ${c.last_status ?? 'none'}  ${JSON.stringify(c.title ?? '')}`;
}

function required(flag: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`--${flag} is required`);
  return value;
}

function id(what: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`the ${what} id is required`);
  if (!Id.safeParse(value).success) throw new UsageError(`${what} "${value.slice(0, 128)}" is not a valid id`);
  return value;
}

function whole(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${flag}: a whole number from ${min} to ${max} (got "${value}")`);
  return n;
}
