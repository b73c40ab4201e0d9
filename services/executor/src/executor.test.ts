// The executor on its own: an in-process bus, a real SQLite store, a real HTTP LLM endpoint.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { MemoryBus } from '@mozaiks/bus';
import { OpenAiLlmClient } from '@mozaiks/llm';
import { subjects } from '@mozaiks/protocol';
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
const silent = createLogger({ service: 'test', level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) });
const tenant = { app_id: 'app_1', user_id: 'ada' };

beforeEach(async () => {
  dir = makeTempDir('mozaiks-executor-');
  mkdirSync(path.join(dir.path, 'workflows', 'solo'), { recursive: true });
  writeFileSync(path.join(dir.path, 'workflows', 'solo', 'orchestrator.yaml'), 'workflow_name: Solo\n');
  writeFileSync(path.join(dir.path, 'workflows', 'solo', 'agents.yaml'), 'agents:\n  - name: Solo\n    system_message: Answer.\n');
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

function startExecutor(): Promise<void> {
  executor = new Executor({
    bus, log: stores.log, inbox: stores.inbox, logger: silent, metrics: new RuntimeMetrics({ processMetrics: false }),
    llm: new OpenAiLlmClient({ apiKey: 'k', baseURL: llm.url, defaultModel: 'm', maxRetries: 0 }),
    subjects: subjects(), workflowsDir: path.join(dir.path, 'workflows'), sweepIntervalMs: 100,
  });
  return executor.start();
}

describe('Executor', () => {
  it('runs a message that was stored but never announced (its gateway died in between)', async () => {
    await startExecutor();
    const seen: string[] = [];
    const metered: UsageRecord[] = [];
    bus.subscribe<ChatEventEnvelope>('mozaiks.chat.>', (m) => void seen.push(m.data.event.type));
    bus.subscribe<UsageRecord>('mozaiks.metering.>', (m) => void metered.push(m.data));
    await stores.inbox.accept(tenant, 'c1', { request_id: 'r1', workflow_id: 'solo', content: 'hello?', context: {}, received_at: new Date().toISOString() });
    for (let i = 0; i < 100 && metered.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['agent_message_delta', 'agent_message', 'workflow_complete', 'usage_update']);
    expect(metered).toEqual([{ v: 1, event: expect.objectContaining({ type: 'usage_update', run_id: 'run_r1', chat_id: 'c1', seq: 3, total_tokens: 4 }) }]);
    expect(await stores.inbox.unpublishedUsage(tenant, 'c1')).toEqual([]);
    expect(await stores.inbox.chatsWithWork()).toEqual([]);
  });

  it('leaves a chat another executor holds to that executor', async () => {
    await stores.inbox.accept(tenant, 'c2', { request_id: 'r2', workflow_id: 'solo', content: 'hi', context: {}, received_at: new Date().toISOString() });
    await stores.inbox.acquire(tenant, 'c2', 'someone-else', 60_000);
    await startExecutor();
    await new Promise((r) => setTimeout(r, 400));
    expect(llm.requests).toHaveLength(0);
    expect((await stores.inbox.pending(tenant, 'c2', 0)).map((i) => i.request_id)).toEqual(['r2']);
  });
});
