// The executor on its own: an in-process bus, a real SQLite store, a real HTTP LLM endpoint.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { MemoryBus } from '@mozaiks/bus';
import { OpenAiLlmClient } from '@mozaiks/llm';
import { subjects } from '@mozaiks/protocol';
import { readWorkflowFiles, workflowVersion } from '@mozaiks/workflows';
import type { ChatEventEnvelope, UsageRecord } from '@mozaiks/protocol';
import { openStore } from '@mozaiks/store';
import type { ChatStores } from '@mozaiks/store';
import { RuntimeMetrics, createLogger } from '@mozaiks/telemetry';
import { makeTempDir, startScriptedLlm } from '@mozaiks/testing';
import type { ScriptedLlm, TempDir } from '@mozaiks/testing';
import { Executor } from './executor';

let dir: TempDir;
let llm: ScriptedLlm;
let stores: ChatStores;
let bus: MemoryBus;
let executor: Executor | undefined;
const silent = createLogger({
  service: 'test',
  level: 'silent',
  destination: new Writable({ write: (_c, _e, d) => d() }),
});
const tenant = { app_id: 'app_1', user_id: 'ada' };

beforeEach(async () => {
  dir = makeTempDir('mozaiks-executor-');
  mkdirSync(path.join(dir.path, 'workflows', 'solo'), { recursive: true });
  writeFileSync(path.join(dir.path, 'workflows', 'solo', 'orchestrator.yaml'), 'workflow_name: Solo\n');
  writeFileSync(
    path.join(dir.path, 'workflows', 'solo', 'agents.yaml'),
    'agents:\n  - name: Solo\n    system_message: Answer.\n',
  );
  llm = await startScriptedLlm();
  llm.setFallback({ content: 'answered', usage: { prompt_tokens: 3, completion_tokens: 1 } });
  stores = await openStore({ dataDir: path.join(dir.path, 'data') });
  bus = new MemoryBus();
});
afterEach(async () => {
  await executor?.stop();
  await bus.drain();
  await stores.close();
  await llm.close();
  dir.remove();
});

const others: Executor[] = [];
afterEach(async () => {
  for (const other of others.splice(0)) await other.stop();
});

function newExecutor(
  options: {
    id?: string;
    sweepIntervalMs?: number;
    model?: string;
    leaseMs?: number;
    maxRunsPerApp?: number;
    logger?: typeof silent;
  } = {},
): Executor {
  const { model = 'm', ...rest } = options;
  return new Executor({
    bus,
    log: stores.log,
    inbox: stores.inbox,
    versions: stores.versions,
    logger: silent,
    metrics: new RuntimeMetrics({ processMetrics: false }),
    llm: new OpenAiLlmClient({ apiKey: 'k', baseURL: llm.url, defaultModel: model, maxRetries: 0 }),
    subjects: subjects(),
    workflowsDir: path.join(dir.path, 'workflows'),
    sweepIntervalMs: 100,
    ...rest,
  });
}

function startExecutor(options: { sweepIntervalMs?: number; leaseMs?: number } = {}): Promise<void> {
  executor = newExecutor(options);
  return executor.start();
}

/** Accepts a message and nudges the executors, as a gateway does; resolves when its run has ended. */
async function send(chatId: string, requestId: string, ended: Map<string, number>): Promise<void> {
  await sendAs(tenant, chatId, requestId);
  while (!ended.has(`run_${requestId}`)) await new Promise((r) => setTimeout(r, 5));
}

/** When each run ended (its workflow_complete), by run id. */
function endings(): Map<string, number> {
  const ended = new Map<string, number>();
  bus.subscribe<ChatEventEnvelope>('mozaiks.chat.>', (m) => {
    if (m.data.event.type === 'workflow_complete') ended.set(m.data.event.run_id, performance.now());
  });
  return ended;
}

/** Accepts a message of `who` (its request id is its content) and nudges the executors, as a gateway does. */
async function sendAs(who: { app_id: string; user_id: string }, chatId: string, requestId: string): Promise<void> {
  const { input } = await stores.inbox.accept(who, chatId, {
    request_id: requestId,
    workflow_id: 'solo',
    content: requestId,
    context: {},
    received_at: new Date().toISOString(),
  });
  await bus.publish(subjects().run(who.app_id, 'solo'), {
    v: 1,
    ...who,
    chat_id: chatId,
    workflow_id: 'solo',
    input_seq: input.input_seq,
  });
}

/** Waits (polling) until `check` holds; fails the test after 5 s. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A bus whose billing records wait until `release` is called (NATS slow to acknowledge them). */
class SlowBillingBus extends MemoryBus {
  private opened!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.opened = resolve));
  readonly held: string[] = [];

  release(): void {
    this.opened();
  }

  override async publish(subject: string, data: unknown, options?: Parameters<MemoryBus['publish']>[2]): Promise<void> {
    if (subject.startsWith(subjects().metering(''))) {
      this.held.push((data as UsageRecord).event.run_id);
      await this.gate;
    }
    return super.publish(subject, data, options);
  }
}

describe('Executor', () => {
  it("loads the folder's workflows when it starts, naming a broken one in a warning, and runs the others", async () => {
    const broken = path.join(dir.path, 'workflows', 'broken');
    mkdirSync(broken);
    writeFileSync(path.join(broken, 'orchestrator.yaml'), 'workflow_name: Broken\nmax_turns: many\n');
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      service: 'test',
      level: 'warn',
      destination: new Writable({
        write: (chunk: Buffer, _e, done) => {
          lines.push(
            ...chunk
              .toString()
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l) as Record<string, unknown>),
          );
          done();
        },
      }),
    });
    executor = newExecutor({ logger });
    await executor.start();
    // Stored as a version before any chat asked for it: the first chat finds it loaded.
    const solo = workflowVersion(readWorkflowFiles(path.join(dir.path, 'workflows', 'solo')));
    expect(await stores.versions.loadWorkflowVersion('solo', solo)).toBeDefined();
    const warning = lines.find((l) => l.message === 'workflow cannot be loaded');
    expect(warning).toMatchObject({ workflow_id: 'broken' });
    expect(String(warning!.error)).toMatch(/broken\/orchestrator\.yaml:2:\d+: max_turns/);
    const ended = endings();
    await send('chat_warm', 'warm_1', ended);
    expect(llm.requests).toHaveLength(1);
  });

  it("runs a chat's next message while the last run's usage is still on its way to billing, and bills both in order", async () => {
    const slow = new SlowBillingBus();
    bus = slow;
    const billed: string[] = [];
    bus.subscribe<UsageRecord>(subjects().allMetering, (m) => void billed.push(m.data.event.run_id));
    const ended = endings();
    await startExecutor();
    await send('c1', 'first', ended);
    // The first run's billing record is held; the next message runs anyway.
    await until(() => slow.held.length === 1);
    await sendAs(tenant, 'c1', 'second');
    await until(() => ended.has('run_second'));
    expect(billed).toEqual([]);
    slow.release();
    await until(() => billed.length === 2);
    expect(billed).toEqual(['run_first', 'run_second']);
    expect(await stores.inbox.unpublishedUsage(tenant, 'c1')).toEqual([]);
  });

  it("serves at most EXECUTOR_MAX_RUNS_PER_APP of one app's chats at once, the rest in turn, another app's at once", async () => {
    const MODEL_MS = 300;
    const arrivals: Array<{ content: string; at: number }> = [];
    llm.setFallback((request) => {
      arrivals.push({ content: String(request.messages.at(-1)!.content), at: performance.now() });
      return { content: 'answered', usage: { prompt_tokens: 3, completion_tokens: 1 }, delay_ms: MODEL_MS };
    });
    const ended = endings();
    executor = newExecutor({ maxRunsPerApp: 2 });
    await executor.start();
    const burst = Array.from({ length: 6 }, (_, i) => `A${i}`);
    for (const chat of burst) await sendAs({ app_id: 'app_a', user_id: `user_${chat}` }, chat, chat);
    await sendAs({ app_id: 'app_b', user_id: 'solo' }, 'B0', 'B0');
    while (ended.size < 7) await new Promise((r) => setTimeout(r, 10));
    // A model call lasts at least MODEL_MS: calls of app A less apart than that overlapped.
    const a = arrivals.filter((r) => r.content.startsWith('A')).map((r) => r.at);
    const overlapping = Math.max(...a.map((t) => a.filter((u) => u >= t && u < t + MODEL_MS).length));
    expect(a).toHaveLength(6);
    expect(overlapping).toBeLessThanOrEqual(2);
    // App B's chat did not wait for app A's burst: it was answered among the first of A's.
    const b = arrivals.find((r) => r.content === 'B0')!.at;
    expect(b).toBeLessThan([...a].sort((x, y) => x - y)[2]!);
  });

  it('runs a message that was stored but never announced (its gateway died in between)', async () => {
    await startExecutor();
    const seen: string[] = [];
    const metered: UsageRecord[] = [];
    bus.subscribe<ChatEventEnvelope>('mozaiks.chat.>', (m) => void seen.push(m.data.event.type));
    bus.subscribe<UsageRecord>('mozaiks.metering.>', (m) => void metered.push(m.data));
    await stores.inbox.accept(tenant, 'c1', {
      request_id: 'r1',
      workflow_id: 'solo',
      content: 'hello?',
      context: {},
      received_at: new Date().toISOString(),
    });
    for (let i = 0; i < 100 && metered.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['agent_message_delta', 'agent_message', 'usage_delta', 'workflow_complete', 'usage_update']);
    expect(metered).toEqual([
      {
        v: 1,
        event: expect.objectContaining({
          type: 'usage_update',
          run_id: 'run_r1',
          chat_id: 'c1',
          seq: 4,
          total_tokens: 4,
        }),
      },
    ]);
    expect(await stores.inbox.unpublishedUsage(tenant, 'c1')).toEqual([]);
    expect(await stores.inbox.chatsWithWork()).toEqual([]);
  });

  it('runs a message sent while its chat is busy right after the run before, on one executor or across two', async () => {
    llm.setFallback({ content: 'answered', usage: { prompt_tokens: 3, completion_tokens: 1 }, delay_ms: 200 });
    const ended = endings();
    // No sweep in the test's time: it would find the waiting message by itself.
    await startExecutor({ sweepIntervalMs: 60_000 });
    // Nudges go to the members of the queue group in turn: with two executors, the second
    // message's nudge reaches the one that does not hold the chat.
    for (const executors of [1, 2]) {
      if (executors === 2) {
        const other = newExecutor({ id: 'second', sweepIntervalMs: 60_000 });
        others.push(other);
        await other.start();
      }
      const chat = `busy_${executors}`;
      const first = send(chat, `${chat}_a`, ended);
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all([first, send(chat, `${chat}_b`, ended)]);
      // Taken up as the first run let the chat go, not after a retry a second later.
      const gap = ended.get(`run_${chat}_b`)! - ended.get(`run_${chat}_a`)!;
      expect(gap).toBeGreaterThan(150);
      expect(gap).toBeLessThan(700);
      expect(
        (await stores.log.listMessages(tenant, chat)).filter((m) => m.role === 'user').map((m) => m.content),
      ).toEqual([`${chat}_a`, `${chat}_b`]);
    }
  });

  it('sends the whole history when a chat comes back to an executor after another one wrote to it', async () => {
    const ended = endings();
    await startExecutor({ sweepIntervalMs: 60_000 });
    const other = newExecutor({ id: 'second', sweepIntervalMs: 60_000, model: 'second-model' });
    others.push(other);
    await other.start();
    for (let i = 1; i <= 4; i++) await send('c3', `m${i}`, ended);
    const prompts = llm.requests.map((r) => ({
      model: r.model,
      said: r.messages.filter((m) => m.role !== 'system').map((m) => m.content),
    }));
    // Both executors served the chat, each after the other had written to it.
    expect(new Set(prompts.map((p) => p.model))).toEqual(new Set(['m', 'second-model']));
    expect(prompts.map((p) => p.said)).toEqual([
      ['m1'],
      ['m1', 'answered', 'm2'],
      ['m1', 'answered', 'm2', 'answered', 'm3'],
      ['m1', 'answered', 'm2', 'answered', 'm3', 'answered', 'm4'],
    ]);
  });

  it('stops writing at once when its lease is taken over, and the run is done once, by the next holder', async () => {
    llm.setFallback({ content: 'answered', usage: { prompt_tokens: 3, completion_tokens: 1 }, delay_ms: 1000 });
    const ended = endings();
    await startExecutor({ sweepIntervalMs: 60_000, leaseMs: 150 });
    const done = send('c4', 'r4', ended);
    while (llm.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    // The executor stalls past its lease (its renewals cannot run either), and another holder takes
    // the chat over: the store runs the takeover's transaction at once, before any timer here.
    const stalled = Date.now() + 400;
    while (Date.now() < stalled);
    const takeover = (await stores.inbox.acquire(tenant, 'c4', 'intruder', 60_000))!;
    expect(takeover.takeover).toBe(true);
    const writer = await stores.log.openWriter(takeover, 'solo');
    await stores.inbox.release(takeover, { inputsDone: writer.inputsDone, position: writer.position });
    await done;
    // The first holder's model call was cut off with its lease; the run was made again and kept once.
    expect(llm.requests).toHaveLength(2);
    expect((await stores.log.listMessages(tenant, 'c4')).map((m) => [m.role, m.content])).toEqual([
      ['user', 'r4'],
      ['assistant', 'answered'],
    ]);
    const events = await stores.log.listEvents(tenant, 'c4');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === 'workflow_complete')).toHaveLength(1);
  });

  it('leaves a chat another executor holds to that executor', async () => {
    await stores.inbox.accept(tenant, 'c2', {
      request_id: 'r2',
      workflow_id: 'solo',
      content: 'hi',
      context: {},
      received_at: new Date().toISOString(),
    });
    await stores.inbox.acquire(tenant, 'c2', 'someone-else', 60_000);
    await startExecutor();
    await new Promise((r) => setTimeout(r, 400));
    expect(llm.requests).toHaveLength(0);
    expect((await stores.inbox.pending(tenant, 'c2', 0)).map((i) => i.request_id)).toEqual(['r2']);
  });
});
