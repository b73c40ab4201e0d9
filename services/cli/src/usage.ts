// `mozaiks usage`: billing operators' view of the durable usage stream on NATS: what the webhook
// sinks could not deliver, re-delivery of a period with the same ids, and totals for a period.
import { Webhook } from 'standardwebhooks';
import type { NatsBus } from '@mozaiks/bus';
import { connectConfiguredBus } from './configured-bus.js';
import { loadRuntimeConfig } from '@mozaiks/config';
import { UsageDeadLetter, UsageUpdateEvent, subjects } from '@mozaiks/protocol';
import type { Subjects } from '@mozaiks/protocol';
import { backoffMs, deadLetterKey, postWebhook, sinkHost, sinkId } from '@mozaiks/webhooks';
import { UsageError, parseFlags } from './flags.js';

type Out = (line: string) => void;

/** Events are published a little after their run is priced: a period is read from this much before it. */
const PUBLISH_LAG_MS = 3_600_000;
/** Attempts a replay makes per event and endpoint before it reports the event undelivered. */
const REPLAY_ATTEMPTS = 3;

export async function usageCommand(args: string[], out: Out): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'dead-letters') return withBus((bus, wiring) => deadLetters(bus, wiring, rest, out));
  if (sub === 'replay') return withBus((bus, wiring) => replay(bus, wiring, rest, out));
  if (sub === 'report') return withBus((bus, wiring) => report(bus, wiring, rest, out));
  throw new UsageError(`mozaiks usage takes dead-letters, replay or report${sub ? ` (got "${sub}")` : ''}`);
}

async function withBus(work: (bus: NatsBus, wiring: Subjects) => Promise<number>): Promise<number> {
  const config = loadRuntimeConfig();
  if (!config.NATS_URL)
    throw new UsageError(
      'mozaiks usage reads the durable usage stream on NATS: set NATS_URL (the embedded runtime keeps none)',
    );
  const bus = await connectConfiguredBus({ ...config, NATS_URL: config.NATS_URL });
  try {
    return await work(bus, subjects(config.SUBJECT_PREFIX));
  } finally {
    await bus.drain();
  }
}

function date(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--${flag}: not an ISO date or time (got "${value}")`);
  return at;
}

/** The usage events of a period, each once (oldest first), optionally of one app. */
async function* eventsOf(
  bus: NatsBus,
  wiring: Subjects,
  range: { from: Date; to?: Date; app?: string },
): AsyncGenerator<{ event: UsageUpdateEvent; body: string }> {
  const seen = new Set<string>();
  const end = range.to?.getTime() ?? Date.now();
  for await (const message of bus.read(wiring.allUsage, { from: new Date(range.from.getTime() - PUBLISH_LAG_MS) })) {
    // Published after the period and its lag: nothing later belongs to it.
    if (message.time.getTime() > end + PUBLISH_LAG_MS) return;
    const parsed = UsageUpdateEvent.safeParse(message.data);
    if (!parsed.success) continue;
    const event = parsed.data;
    const at = Date.parse(event.timestamp);
    if (at < range.from.getTime() || at >= end || seen.has(event.event_id)) continue;
    if (range.app && event.app_id !== range.app) continue;
    seen.add(event.event_id);
    yield { event, body: JSON.stringify(message.data) };
  }
}

async function deadLetters(bus: NatsBus, wiring: Subjects, args: string[], out: Out): Promise<number> {
  const flags = parseFlags(args, { sink: { type: 'string' }, json: { type: 'boolean' } });
  const letters: UsageDeadLetter[] = [];
  for await (const message of bus.read(wiring.usageDeadLetters(flags.sink ? sinkId(flags.sink) : undefined))) {
    const parsed = UsageDeadLetter.safeParse(message.data);
    if (parsed.success) letters.push(parsed.data);
  }
  if (flags.json) {
    for (const l of letters)
      out(
        JSON.stringify({
          event_id: l.event_id,
          app_id: l.app_id,
          sink: l.sink,
          attempts: l.attempts,
          last_status: l.last_status,
          reason: l.reason,
          dead_at: l.dead_at,
        }),
      );
    return 0;
  }
  if (letters.length === 0) {
    out('no undelivered usage events');
    return 0;
  }
  table(
    out,
    ['event_id', 'app_id', 'sink', 'attempts', 'last_status', 'dead_at', 'reason'],
    letters.map((l) => [
      l.event_id,
      l.app_id,
      l.sink,
      String(l.attempts),
      l.last_status === null ? '-' : String(l.last_status),
      l.dead_at,
      l.reason,
    ]),
  );
  const earliest = letters.map((l) => l.event.timestamp).sort()[0]!;
  out(
    `${letters.length} undelivered; once the endpoint is fixed, resend them with: mozaiks usage replay --from ${earliest}`,
  );
  return 0;
}

/** The usage a command reads: --from and --to (ISO dates or times), --app to keep one app's. */
const RANGE_FLAGS = { from: { type: 'string' }, to: { type: 'string' }, app: { type: 'string' } } as const;

async function replay(bus: NatsBus, wiring: Subjects, args: string[], out: Out): Promise<number> {
  const flags = parseFlags(args, { ...RANGE_FLAGS, sink: { type: 'string' } });
  const from = date('from', flags.from);
  if (!from) throw new UsageError('mozaiks usage replay needs --from <ISO date or time>');
  const to = date('to', flags.to);
  const config = loadRuntimeConfig();
  if (!config.USAGE_WEBHOOK_SECRET)
    throw new UsageError('mozaiks usage replay signs with USAGE_WEBHOOK_SECRET: set it as the usage-emitter has it');
  const urls = flags.sink ? [flags.sink] : config.USAGE_WEBHOOK_URL;
  if (urls.length === 0) throw new UsageError('no webhook endpoint: set USAGE_WEBHOOK_URL or pass --sink <url>');
  for (const url of urls) if (!URL.canParse(url)) throw new UsageError(`--sink: not a URL (got "${url}")`);
  const signer = new Webhook(config.USAGE_WEBHOOK_SECRET);
  const timeoutMs = config.USAGE_WEBHOOK_TIMEOUT_SECONDS * 1000;
  const tally = new Map(urls.map((u) => [u, { delivered: 0, failed: [] as string[] }]));
  for await (const { event, body } of eventsOf(bus, wiring, {
    from,
    ...(to ? { to } : {}),
    ...(flags.app ? { app: flags.app } : {}),
  })) {
    for (const url of urls) {
      const counts = tally.get(url)!;
      let attempt = await postWebhook(url, signer, event.event_id, body, timeoutMs);
      for (let n = 1; attempt.outcome === 'retry' && n < REPLAY_ATTEMPTS; n++) {
        const waitMs = Math.min(5000, attempt.retryAfterMs ?? backoffMs(n));
        await new Promise((r) => setTimeout(r, waitMs));
        attempt = await postWebhook(url, signer, event.event_id, body, timeoutMs);
      }
      if (attempt.outcome === 'delivered') {
        counts.delivered++;
        // Delivered now: no longer a dead letter of this endpoint.
        await bus.purge(wiring.usageDeadLetter(sinkId(url), deadLetterKey(event.event_id)));
      } else counts.failed.push(`${event.event_id} (${attempt.reason})`);
    }
  }
  let failed = 0;
  for (const [url, counts] of tally) {
    out(
      `${sinkHost(url)}: ${counts.delivered} delivered${counts.failed.length ? `, ${counts.failed.length} not delivered: ${counts.failed.slice(0, 20).join(', ')}${counts.failed.length > 20 ? ', …' : ''}` : ''}`,
    );
    failed += counts.failed.length;
  }
  return failed === 0 ? 0 : 1;
}

interface Totals {
  events: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
}

const zero = (): Totals => ({ events: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost_usd: 0 });

function add(
  into: Totals,
  part: { prompt_tokens: number; completion_tokens: number; total_tokens: number; cost_usd: number },
  events = 1,
): void {
  into.events += events;
  into.prompt_tokens += part.prompt_tokens;
  into.completion_tokens += part.completion_tokens;
  into.total_tokens += part.total_tokens;
  into.cost_usd += part.cost_usd;
}

async function report(bus: NatsBus, wiring: Subjects, args: string[], out: Out): Promise<number> {
  const flags = parseFlags(args, { ...RANGE_FLAGS, json: { type: 'boolean' } });
  const from = date('from', flags.from);
  const to = date('to', flags.to);
  if (!from || !to) throw new UsageError('mozaiks usage report needs --from and --to <ISO date or time>');
  const total = zero();
  const byApp = new Map<string, Totals>();
  const byWorkflow = new Map<string, Totals>();
  const byModel = new Map<string, Totals>();
  const bucket = (map: Map<string, Totals>, key: string) => map.get(key) ?? map.set(key, zero()).get(key)!;
  for await (const { event } of eventsOf(bus, wiring, { from, to, ...(flags.app ? { app: flags.app } : {}) })) {
    const counts = { ...event.tokens, cost_usd: event.cost_usd };
    add(total, counts);
    add(bucket(byApp, event.app_id), counts);
    add(bucket(byWorkflow, `${event.app_id}\t${event.workflow_id}`), counts);
    for (const m of event.models) add(bucket(byModel, m.model), m, 0);
    for (const m of event.models) bucket(byModel, m.model).events += m.calls;
  }
  const round = (t: Totals) => ({ ...t, cost_usd: Number(t.cost_usd.toFixed(10)) });
  if (flags.json) {
    out(
      JSON.stringify({
        from: from.toISOString(),
        to: to.toISOString(),
        ...(flags.app ? { app_id: flags.app } : {}),
        total: round(total),
        apps: Object.fromEntries([...byApp].map(([k, v]) => [k, round(v)])),
        workflows: [...byWorkflow].map(([k, v]) => ({
          app_id: k.split('\t')[0],
          workflow_id: k.split('\t')[1],
          ...round(v),
        })),
        models: Object.fromEntries(
          [...byModel].map(([k, { events, ...tokens }]) => [
            k,
            { calls: events, ...tokens, cost_usd: Number(tokens.cost_usd.toFixed(10)) },
          ]),
        ),
      }),
    );
    return 0;
  }
  const row = (name: string[], t: Totals) => [
    ...name,
    String(t.events),
    String(t.prompt_tokens),
    String(t.completion_tokens),
    String(t.total_tokens),
    t.cost_usd.toFixed(6),
  ];
  out(
    `usage from ${from.toISOString()} to ${to.toISOString()}${flags.app ? ` for ${flags.app}` : ''}: ${total.events} runs, ${total.total_tokens} tokens, $${total.cost_usd.toFixed(6)}`,
  );
  if (total.events === 0) return 0;
  out('');
  table(
    out,
    ['app_id', 'runs', 'prompt', 'completion', 'total', 'cost_usd'],
    [...byApp].sort().map(([k, v]) => row([k], v)),
  );
  out('');
  table(
    out,
    ['app_id', 'workflow_id', 'runs', 'prompt', 'completion', 'total', 'cost_usd'],
    [...byWorkflow].sort().map(([k, v]) => row(k.split('\t'), v)),
  );
  out('');
  table(
    out,
    ['model', 'calls', 'prompt', 'completion', 'total', 'cost_usd'],
    [...byModel].sort().map(([k, v]) => row([k], v)),
  );
  return 0;
}

/** Columns padded to their widest cell. */
function table(out: Out, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  out(line(header));
  for (const r of rows) out(line(r));
}
