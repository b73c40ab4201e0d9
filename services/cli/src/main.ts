// The `mozaiks` command's entry point.
import { parseArgs } from 'node:util';
import { ConfigError, loadRuntimeConfig } from '@mozaiks/config';
import { StoreUnavailableError } from '@mozaiks/store';
import { MigrateUsageError, migrateStore } from './store-migrate.js';
import { UsageError } from './flags.js';
import { mintDevToken } from './token.js';
import { smokeTest } from './smoke.js';
import { usageCommand } from './usage.js';
import { doctor } from './doctor.js';
import { replayChat } from './replay.js';
import { chatCommand } from './chat.js';
import { chatsCommand, usersCommand } from './chats.js';
import { strandedChats, validateWorkflows } from './validate.js';
import { workflowsCommand } from './workflows.js';
import type { ValidationReport } from './validate.js';
import { configuredStoreExists, openConfiguredStore } from './configured-store.js';
import { errorMessage } from '@mozaiks/common';

const USAGE = `usage: mozaiks validate [dir] [--strict]
       mozaiks store migrate [--from sqlite:<data dir> --to mongodb://…]
       mozaiks token [--workflow hello] [--app dev_app] [--user dev_user] [--chat id] [--ttl 3600]
                     [--max-tokens n] [--claim name=value …] [--key private.pem]
       mozaiks smoke --url <gateway> [--workflow hello] [--message text] [--timeout 60]
       mozaiks chat [<ws url with ?token=…> | --url ws://localhost:8000/ws/chat] [--token <jwt> | --workflow hello --chat id] [--last-seq n] [--usage] [--json]
       mozaiks doctor
       mozaiks workflows list [--json]
       mozaiks replay <chat> [--app dev_app] [--user dev_user] [--json]
       mozaiks usage dead-letters [--sink <url>] [--json]
       mozaiks usage replay --from <ISO> [--to <ISO>] [--app <app_id>] [--sink <url>]
       mozaiks usage report --from <ISO> --to <ISO> [--app <app_id>] [--json]
       mozaiks chats list --app <app_id> [--user <user_id>] [--workflow <id>] [--limit 50] [--cursor c] [--json]
       mozaiks chats show|export|delete <chat> --app <app_id> --user <user_id> [--json]
       mozaiks chats fork <chat> --app <app_id> --user <user_id> --at-seq <n> --to <new chat> [--json]
       mozaiks users erase <user_id> --app <app_id> [--usage] [--json]
       mozaiks users export <user_id> --app <app_id>

  validate [dir]   check the workflow folder dir, or every workflow folder in it
                   (default: WORKFLOWS_DIR or ./workflows); exit code 1 on any problem.
                   Folders of the Python MozaiksAI runtime are read too: what has no effect
                   here is a warning (exit code 0)
    --strict       warnings are problems (exit code 1), unknown fields too
  store migrate    create the configured store's schema and indexes (MONGODB_URI, else SQLite
                   under DATA_DIR); running it again changes nothing
    --from sqlite:<dir> --to mongodb://…
                   copy every chat of an embedded store into MongoDB (database MONGODB_DATABASE):
                   history, events, inputs, unfinished runs, usage not yet published; safe to
                   run again after an interruption
  token            print a launch token signed with JWT_SECRET, or with --key (an RSA, P-256 or
                   Ed25519 private key: the half of JWT_PUBLIC_KEY), for issuer JWT_ISSUER and
                   audience JWT_AUDIENCE, for trying a deployment without a control plane; a new
                   chat id unless --chat is given; --claim adds custom claims (JSON values or text)
  smoke            one chat turn through the gateway at --url with a token from JWT_SECRET;
                   exit code 0 when the run completes with a reply, 1 when it does not
  chat             talk to a workflow: replies as they stream, tool calls, input requests answered
                   by the next line; without --token one is signed with JWT_SECRET; reconnects on its
                   own. --usage: each model call's tokens and time as a line of its own.
                   --json: events as JSON lines, stdin's lines as the messages; at the end of
                   stdin it waits for its runs, then exits (1 when the socket could not be kept)
  doctor           check the configuration, the LLM endpoint and key, NATS, the chat store and
                   the workflows, and say what is wrong with each and how to fix it; exit code 1
                   when something is
  workflows list   each workflow of WORKFLOWS_DIR and of the store: its current version (the
                   folder's content hash), the versions its chats run, chats per version and
                   the oldest of their last activities; --json: one JSON line per workflow
  replay <chat>    print a chat's events as the store keeps them (MONGODB_URI, else SQLite under
                   DATA_DIR), one line each, or as JSON lines with --json; exit code 1 for no such chat
  usage            read the durable usage stream on NATS (NATS_URL, SUBJECT_PREFIX):
    dead-letters   the usage events a webhook endpoint will not be sent again (a 4xx answer,
                   or retries past USAGE_WEBHOOK_RETRY_HOURS): id, app, endpoint, attempts, last status
    replay         send the usage events of the period (their run's end) to the USAGE_WEBHOOK_URL
                   endpoints (or --sink), signed with USAGE_WEBHOOK_SECRET, with their own ids so
                   receivers de-duplicate; a delivered event leaves the dead letters; exit code 1
                   when some could not be delivered
    report         runs, tokens and cost of the period by app, workflow and model
  chats, users     the control plane's API over chats (README, "Control-plane API") on the store
                   and NATS directly, for operators without the HTTP path; each delete, erasure,
                   export and fork is audited as the API's are (a "data request" line on stderr)
    chats list     an app's chats, newest activity first, a page at a time
    chats show     a chat's summary and context variables
    chats export   a chat as NDJSON: {"chat": …} (with its history), then {"event": …} lines
    chats delete   a chat everywhere: its sockets closed (4410, with NATS_URL), its run stopped,
                   everything of it removed from the store
    chats fork     a new chat (--to) of the same user from the end of a run (--at-seq)
    users erase    every chat of the user in the app, their usage dead letters (with NATS_URL),
                   and with --usage their billing records on the usage stream
    users export   every chat of the user, as chats export

exit codes: 0 done, 1 what was checked or asked for is not right (the message says what),
2 a command line it cannot run (unknown command or flag, a bad value)`;

/** Runs a subcommand: a usage error exits 2, a configuration it cannot run with 1, both said plainly. */
async function reporting(work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return error instanceof UsageError ? 2 : 1;
    }
    throw error;
  }
}

const token = (args: string[]) =>
  reporting(async () => {
    process.stdout.write(`${await mintDevToken(args)}\n`);
    return 0;
  });

const smoke = (args: string[]) =>
  reporting(async () => {
    const result = await smokeTest(args);
    for (const line of result.lines) (result.ok ? process.stdout : process.stderr).write(`${line}\n`);
    return result.ok ? 0 : 1;
  });

async function checkUp(args: string[]): Promise<number> {
  if (args.length > 0) return usage(2);
  const findings = await doctor();
  for (const f of findings) process.stdout.write(`${f.ok ? 'ok  ' : 'FAIL'} ${f.part}: ${f.message}\n`);
  const failed = findings.filter((f) => !f.ok);
  process.stdout.write(
    failed.length ? `${failed.length} thing(s) to fix\n` : 'everything the runtime needs is in place\n',
  );
  return failed.length ? 1 : 0;
}

const usageOf = (args: string[]) => reporting(() => usageCommand(args, (line) => process.stdout.write(`${line}\n`)));

async function validate(args: string[]): Promise<number> {
  const strict = args.includes('--strict');
  const [dir, ...rest] = args.filter((a) => a !== '--strict');
  if (rest.length > 0 || dir?.startsWith('-')) return usage(2);
  const report = validateWorkflows(dir ?? process.env.WORKFLOWS_DIR ?? './workflows', process.cwd(), { strict });
  if (report.problems.length === 0) report.warnings.push(...(await strandedByThisVersion(report.loaded)));
  for (const problem of report.problems) process.stdout.write(`${problem}\n`);
  for (const warning of report.warnings) process.stdout.write(`${warning}\n`);
  if (report.problems.length > 0) {
    process.stderr.write(
      `${report.problems.length} problem(s)${report.warnings.length ? `, ${report.warnings.length} warning(s)` : ''} in ${report.checked.length} workflow(s)\n`,
    );
    return 1;
  }
  if (report.checked.length === 0) {
    process.stderr.write('no workflow folders found\n');
    return 1;
  }
  process.stdout.write(
    `${report.checked.length} workflow(s) valid: ${report.checked.join(', ')}${report.warnings.length ? ` (${report.warnings.length} warning(s): what has no effect here)` : ''}\n`,
  );
  return 0;
}

/** Chats the folders would strand under `latest`, when a store is configured and exists; nothing otherwise. */
async function strandedByThisVersion(loaded: ValidationReport['loaded']): Promise<string[]> {
  if (!loaded.some((w) => w.version_policy === 'latest')) return [];
  let config;
  try {
    config = loadRuntimeConfig();
  } catch {
    return [];
  }
  if (!configuredStoreExists(config)) return [];
  const stores = await openConfiguredStore(config);
  try {
    return await strandedChats(loaded, stores.versions);
  } finally {
    await stores.close();
  }
}

async function store(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { from: { type: 'string' }, to: { type: 'string' } }, allowPositionals: true });
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\n`);
    return usage(2);
  }
  if (parsed.positionals.join(' ') !== 'migrate') return usage(2);
  try {
    const config = loadRuntimeConfig();
    await migrateStore({
      ...(parsed.values.from === undefined ? {} : { from: parsed.values.from }),
      ...(parsed.values.to === undefined ? {} : { to: parsed.values.to }),
      ...(config.MONGODB_URI ? { mongodbUri: config.MONGODB_URI } : {}),
      mongodbDatabase: config.MONGODB_DATABASE,
      dataDir: config.DATA_DIR,
      out: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  } catch (error) {
    if (error instanceof MigrateUsageError) {
      process.stderr.write(`${error.message}\n`);
      return usage(2);
    }
    if (error instanceof ConfigError || error instanceof StoreUnavailableError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function usage(code: number): number {
  process.stderr.write(`${USAGE}\n`);
  return code;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `mozaiks <command> --help`: the usage, exit code 0.
  if (rest.includes('--help') || rest.includes('-h')) return usage(0);
  if (command === 'validate') return reporting(() => validate(rest));
  if (command === 'store') return store(rest);
  if (command === 'token') return token(rest);
  if (command === 'smoke') return smoke(rest);
  if (command === 'usage') return usageOf(rest);
  if (command === 'doctor') return checkUp(rest);
  if (command === 'chat')
    return reporting(() => chatCommand(rest, { input: process.stdin, output: process.stdout, errors: process.stderr }));
  if (command === 'workflows')
    return reporting(() => workflowsCommand(rest, (line) => process.stdout.write(`${line}\n`)));
  if (command === 'replay') return reporting(() => replayChat(rest, (line) => process.stdout.write(`${line}\n`)));
  if (command === 'chats') return reporting(() => chatsCommand(rest, (line) => process.stdout.write(`${line}\n`)));
  if (command === 'users') return reporting(() => usersCommand(rest, (line) => process.stdout.write(`${line}\n`)));
  return usage(command === '--help' || command === '-h' ? 0 : 2);
}

void main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`mozaiks: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
