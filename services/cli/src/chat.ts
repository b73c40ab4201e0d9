// `mozaiks chat` (and `npm run chat`): a chat in the terminal, on @mozaiks/client: replies as they
// stream, tool calls and results, input requests answered by the next line typed, usage per run
// (and per model call with --usage); reconnects on its own. With --json, events are JSON lines and stdin's lines are the messages, for scripts; at the
// end of stdin it waits for the runs it started, then exits.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ServerEvent } from '@mozaiks/protocol';
import { UsageError, parseFlags } from './flags.js';
import { mintDevToken } from './token.js';

export async function chatCommand(
  args: string[],
  io: { input: Readable; output: Writable; errors: Writable },
): Promise<number> {
  // A socket address given first (as `npm start` prints it, token in its query) stands for --url and --token.
  const given = args[0] !== undefined && /^wss?:\/\//.test(args[0]) ? new URL(args[0]) : undefined;
  if (given) args = args.slice(1);
  const flags = parseFlags(args, {
    url: { type: 'string', default: 'ws://localhost:8000/ws/chat' },
    token: { type: 'string' },
    workflow: { type: 'string' },
    app: { type: 'string' },
    user: { type: 'string' },
    chat: { type: 'string' },
    'last-seq': { type: 'string' },
    json: { type: 'boolean' },
    usage: { type: 'boolean' },
  });
  const lastSeq = flags['last-seq'] === undefined ? undefined : Number(flags['last-seq']);
  if (lastSeq !== undefined && !(Number.isInteger(lastSeq) && lastSeq >= 0))
    throw new UsageError(`--last-seq: must be a whole number, got "${flags['last-seq']}"`);
  // Without --token, one is signed with JWT_SECRET, as `mozaiks token` does.
  const mint = ['workflow', 'app', 'user', 'chat'].flatMap((k) =>
    flags[k as 'app'] ? [`--${k}`, flags[k as 'app']!] : [],
  );
  const inUrl = given?.searchParams.get('token') ?? undefined;
  given?.searchParams.delete('token');
  if (given) flags.url = given.toString();
  const token = flags.token ?? inUrl ?? (await mintDevToken(mint));
  const { MozaiksClient, MozaiksClientError } = await import('@mozaiks/client');
  let client;
  try {
    client = await MozaiksClient.connect({ url: flags.url, token, ...(lastSeq === undefined ? {} : { lastSeq }) });
  } catch (error) {
    if (error instanceof MozaiksClientError) {
      io.errors.write(`mozaiks chat: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const write = (line: string) => io.output.write(`${line}\n`);
  let asked: { request_id: string } | undefined;
  let runs = 0;
  let ended = 0;
  let streaming = false;
  client.on('*', (e: ServerEvent) => {
    if (e.type === 'usage_update' || (e.type === 'error' && !e.run_id)) ended++;
    if (e.type === 'input_request') asked = { request_id: e.request_id };
    if (flags.json) return e.type === 'agent_message_delta' ? undefined : write(JSON.stringify(e));
    if (e.type === 'agent_message_delta') {
      if (!streaming) io.output.write(`${e.agent}: `);
      streaming = true;
      return void io.output.write(e.delta);
    }
    if (e.type === 'agent_message') {
      if (streaming) io.output.write('\n');
      else write(`${e.agent}: ${e.content}`);
      streaming = false;
      return;
    }
    if (e.type === 'tool_call') return write(`  → ${e.name}(${JSON.stringify(e.arguments)})`);
    if (e.type === 'tool_result')
      return write(`  ← ${e.name}: ${e.ok ? JSON.stringify(e.result) : `failed: ${e.error?.message}`}`);
    if (e.type === 'input_request') return write(`? ${e.prompt}${e.options ? ` (${e.options.join(', ')})` : ''}`);
    if (e.type === 'ui_tool')
      return write(`  [${e.component}] ${JSON.stringify(e.payload)} (answer in a client that shows it)`);
    if (e.type === 'usage_delta')
      return flags.usage
        ? write(
            `  · ${e.agent} (${e.model}): ${e.total_tokens} tokens${e.duration_ms === undefined ? '' : `, ${Math.round(e.duration_ms)} ms`}`,
          )
        : undefined;
    if (e.type === 'usage_update') return write(`  (${e.total_tokens} tokens, $${e.cost_usd.toFixed(6)})`);
    if (e.type === 'error') return write(`! ${e.code}: ${e.message}`);
  });
  if (!flags.json && 'isTTY' in io.input && io.input.isTTY)
    io.errors.write('connected; type a message and press Enter (Ctrl+D to quit)\n');
  client.onState((state) => {
    if (!flags.json && state === 'reconnecting') io.errors.write('(connection lost; reconnecting)\n');
  });
  const lines = createInterface({ input: io.input, terminal: false });
  for await (const line of lines) {
    const text = line.trim();
    if (!text) continue;
    runs++;
    // The next line answers the question asked, else it is a new message.
    if (asked) {
      client.answer(asked.request_id, text);
      asked = undefined;
    } else client.send(text);
  }
  // stdin ended: the runs it started finish first.
  while (ended < runs && client.state !== 'closed') await new Promise((r) => setTimeout(r, 50));
  client.close();
  if (client.error) {
    io.errors.write(`mozaiks chat: ${client.error.message}\n`);
    return 1;
  }
  return 0;
}
