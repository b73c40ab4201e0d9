// `mozaiks chat` (and `npm run chat`): a chat in the terminal, on @mozaiks/client: replies as they
// stream, tool calls and results, input requests answered by the next line typed, usage per run
// (and per model call with --usage); reconnects on its own. With --json, events are JSON lines and
// stdin's lines are the messages, for scripts; at the end of stdin it waits for the runs it
// started, then exits.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ServerEvent } from '@mozaiks/protocol';
import { UsageError, parseFlags } from './flags.js';
import { mintDevToken } from './token.js';

type ChatIo = { input: Readable; output: Writable; errors: Writable };

export async function chatCommand(args: string[], io: ChatIo): Promise<number> {
  const options = await chatOptions(args);
  const { MozaiksClient, MozaiksClientError } = await import('@mozaiks/client');
  let client;
  try {
    client = await MozaiksClient.connect(options.connect);
  } catch (error) {
    if (error instanceof MozaiksClientError) {
      io.errors.write(`mozaiks chat: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const view = new ChatView(io.output, options);
  client.on('*', (e: ServerEvent) => view.show(e));
  if (!options.json && 'isTTY' in io.input && io.input.isTTY)
    io.errors.write('connected; type a message and press Enter (Ctrl+D to quit)\n');
  client.onState((state) => {
    if (!options.json && state === 'reconnecting') io.errors.write('(connection lost; reconnecting)\n');
  });
  let runs = 0;
  for await (const line of createInterface({ input: io.input, terminal: false })) {
    const text = line.trim();
    if (!text) continue;
    runs++;
    // The next line answers the question asked, else it is a new message.
    const asked = view.takeQuestion();
    if (asked) client.answer(asked.request_id, text);
    else client.send(text);
  }
  // stdin ended: the runs it started finish first.
  while (view.ended < runs && client.state !== 'closed') await new Promise((r) => setTimeout(r, 50));
  client.close();
  if (client.error) {
    io.errors.write(`mozaiks chat: ${client.error.message}\n`);
    return 1;
  }
  return 0;
}

/** The command line as options: where to connect, with which token, and how to show events. */
async function chatOptions(
  given: string[],
): Promise<{ connect: { url: string; token: string; lastSeq?: number }; json: boolean; usage: boolean }> {
  // A socket address given first (as `npm start` prints it, token in its query) stands for --url and --token.
  const address = given[0] !== undefined && /^wss?:\/\//.test(given[0]) ? new URL(given[0]) : undefined;
  const args = address ? given.slice(1) : given;
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
  const inUrl = address?.searchParams.get('token') ?? undefined;
  address?.searchParams.delete('token');
  // Without --token, one is signed with JWT_SECRET, as `mozaiks token` does.
  const mint = ['workflow', 'app', 'user', 'chat'].flatMap((k) =>
    flags[k as 'app'] ? [`--${k}`, flags[k as 'app']!] : [],
  );
  const token = flags.token ?? inUrl ?? (await mintDevToken(mint));
  const url = address ? address.toString() : flags.url;
  return {
    connect: { url, token, ...(lastSeq === undefined ? {} : { lastSeq }) },
    json: flags.json ?? false,
    usage: flags.usage ?? false,
  };
}

/** Shows the chat's events as lines (or JSON lines), and keeps what the input needs: the open question, the runs ended. */
class ChatView {
  /** Runs that ended (their usage came, or a refusal that ran nothing). */
  ended = 0;
  private asked: { request_id: string } | undefined;
  private streaming = false;

  constructor(
    private readonly output: Writable,
    private readonly options: { json: boolean; usage: boolean },
  ) {}

  /** The question the next line answers, if one is open; the line takes it. */
  takeQuestion(): { request_id: string } | undefined {
    const asked = this.asked;
    this.asked = undefined;
    return asked;
  }

  show(e: ServerEvent): void {
    if (e.type === 'usage_update' || (e.type === 'error' && !e.run_id)) this.ended++;
    if (e.type === 'input_request') this.asked = { request_id: e.request_id };
    if (this.options.json) {
      if (e.type !== 'agent_message_delta') this.write(JSON.stringify(e));
      return;
    }
    if (e.type === 'agent_message_delta' || e.type === 'agent_message') return this.reply(e);
    const line = this.line(e);
    if (line !== undefined) this.write(line);
  }

  /** A reply, streamed as it comes, or whole. */
  private reply(e: Extract<ServerEvent, { type: 'agent_message_delta' | 'agent_message' }>): void {
    if (e.type === 'agent_message_delta') {
      if (!this.streaming) this.output.write(`${e.agent}: `);
      this.streaming = true;
      this.output.write(e.delta);
      return;
    }
    if (this.streaming) this.output.write('\n');
    else this.write(`${e.agent}: ${e.content}`);
    this.streaming = false;
  }

  /** Any other event as one line; undefined for what is not shown. */
  private line(e: ServerEvent): string | undefined {
    switch (e.type) {
      case 'tool_call':
        return `  → ${e.name}(${JSON.stringify(e.arguments)})`;
      case 'tool_result':
        return `  ← ${e.name}: ${e.ok ? JSON.stringify(e.result) : `failed: ${e.error?.message}`}`;
      case 'input_request':
        return `? ${e.prompt}${e.options ? ` (${e.options.join(', ')})` : ''}`;
      case 'ui_tool':
        return `  [${e.component}] ${JSON.stringify(e.payload)} (answer in a client that shows it)`;
      case 'usage_delta': {
        if (!this.options.usage) return undefined;
        const took = e.duration_ms === undefined ? '' : `, ${Math.round(e.duration_ms)} ms`;
        return `  · ${e.agent} (${e.model}): ${e.total_tokens} tokens${took}`;
      }
      case 'usage_update':
        return `  (${e.total_tokens} tokens, $${e.cost_usd.toFixed(6)})`;
      case 'error':
        return `! ${e.code}: ${e.message}`;
      default:
        return undefined;
    }
  }

  private write(line: string): void {
    this.output.write(`${line}\n`);
  }
}
