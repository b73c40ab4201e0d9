// Rolling deploys never strand a chat. A chat parked on an input request keeps the workflow version
// it started on after the folder changes (agents renamed, tool code changed): the answer goes to
// the first version's agent and tool, on whichever executor runs it, including one whose files are
// the new version's and one with no folder for the workflow at all. Under `version_policy: latest`
// the parked answer ends with `workflow_changed`, kept in the history, and the chat goes on with
// the new version.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CompletionRequestBody } from '@mozaiks/llm';
import { WsTestClient, makeTempDir, mintToken, mongoTestServerAvailable, startMongoTestServer } from '@mozaiks/testing';
import type { MongoTestServer, ScriptedLlm, TempDir, TestEvent } from '@mozaiks/testing';
import { startCluster, until } from './cluster';
import type { Cluster, ClusterStore } from './cluster';
import { startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

/** The refund desk as a deploy ships it: version 1 (Intake, Closer) or version 2 (Drafter, Filer). */
function writeDesk(workflowsDir: string, version: 1 | 2, policy: 'pinned' | 'latest' = 'pinned'): void {
  const [asker, closer] = version === 1 ? ['Intake', 'Closer'] : ['Drafter', 'Filer'];
  const dir = path.join(workflowsDir, 'desk');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {
    'orchestrator.yaml': `workflow_name: Refund desk\nmax_turns: 6\nhuman_in_the_loop: true\nversion_policy: ${policy}\n`,
    'agents.yaml': `agents:\n  - name: ${asker}\n    system_message: You collect details of the refund.\n  - name: ${closer}\n    system_message: You file the refund.\n`,
    'handoffs.yaml': `handoff_rules:\n  - {source_agent: ${asker}, target_agent: user, handoff_type: after_work}\n  - {source_agent: user, target_agent: ${closer}, handoff_type: after_work}\n  - {source_agent: ${closer}, target_agent: terminate, handoff_type: after_work}\n`,
    'tools.yaml': `tools:\n  - {agent: ${closer}, file: stamp.mjs, function: stamp, description: Stamps the refund., parameters: {type: object, properties: {}}}\n`,
    'stamp.mjs': `export const stamp = () => ({ filed_by: 'version ${version}' });\n`,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
}

/** Whoever collects asks the user; whoever files calls the stamp tool, then says what it returned. */
function scriptDesk(llm: ScriptedLlm): void {
  llm.setFallback((request: CompletionRequestBody) => {
    const usage = { prompt_tokens: 5, completion_tokens: 2 };
    const system = String(request.messages[0]!.content);
    const last = request.messages.at(-1)!;
    if (system.includes('collect')) return { content: 'Which card should get the refund?', usage };
    if (last.role === 'tool') return { content: `filed: ${String(last.content)}`, usage };
    return { tool_calls: [{ name: 'stamp', arguments: '{}' }], usage };
  });
}

const agentsOf = (events: TestEvent[]) => events.filter((e) => e.type === 'agent_message').map((e) => e.agent);
const completeOf = (events: TestEvent[]) => events.find((e) => e.type === 'workflow_complete');

/** Opens a chat, sends the opening message and returns the socket parked on the input request. */
async function parkedChat(wsUrl: (token: string) => string, chatId: string) {
  const client = await WsTestClient.connect(
    wsUrl(await mintToken({ claims: { workflow_id: 'desk', chat_id: chatId } })),
  );
  const opening = await client.exchange('draft a refund for order 77');
  const request = opening.find((e) => e.type === 'input_request');
  expect(request).toMatchObject({ agent: 'Intake' });
  return { client, opening, requestId: String(request!.request_id) };
}

/** Answers the parked request and returns the run's events. */
async function answer(client: WsTestClient, requestId: string, content = 'the card ending 4242'): Promise<TestEvent[]> {
  const from = client.events.length;
  client.send({ type: 'user_input', request_id: requestId, content });
  await client.waitForType('usage_update', { from, timeoutMs: 30_000 });
  return client.events.slice(from);
}

/** Past the executors' once-a-second look at the workflow folder. */
const folderSeen = () => new Promise((r) => setTimeout(r, 1200));

describe('workflow versions (standalone)', () => {
  let workflows: TempDir;
  let t: TestRuntime;
  beforeEach(() => {
    workflows = makeTempDir('mozaiks-versions-');
  });
  afterEach(async () => {
    await t?.stop();
    workflows.remove();
  });

  it("answers a parked chat with its first version's agents after a deploy renames them; new chats run the new version", async () => {
    writeDesk(workflows.path, 1);
    t = await startTestRuntime({ workflowsDir: workflows.path });
    scriptDesk(t.llm);
    const parked = await parkedChat((token) => t.wsUrl(token), 'chat_parked');
    const v1 = completeOf(parked.opening)!.workflow_version;
    expect(v1).toMatch(/^[0-9a-f]{16}$/);

    writeDesk(workflows.path, 2);
    await folderSeen();
    const answered = await answer(parked.client, parked.requestId);
    expect(agentsOf(answered)).toEqual(['Closer']);
    expect(answered.find((e) => e.type === 'tool_result')).toMatchObject({
      ok: true,
      result: { filed_by: 'version 1' },
    });
    expect(completeOf(answered)).toMatchObject({ status: 'completed', reason: 'terminated', workflow_version: v1 });
    expect(answered.find((e) => e.type === 'usage_update')).toMatchObject({ workflow_version: v1 });

    const fresh = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { workflow_id: 'desk', chat_id: 'chat_fresh' } })),
    );
    const opened = await fresh.exchange('draft a refund for order 78');
    expect(agentsOf(opened)).toEqual(['Drafter']);
    const v2 = completeOf(opened)!.workflow_version;
    expect(v2).toMatch(/^[0-9a-f]{16}$/);
    expect(v2).not.toBe(v1);
    expect(
      t
        .logs()
        .filter((l) => l.message === 'workflow execution started')
        .map((l) => l.workflow_version),
    ).toEqual([v1, v1, v2]);
    await Promise.all([parked.client.close(), fresh.close()]);
  });

  it('ends a parked answer with workflow_changed under version_policy latest, keeps it, and runs the new version next', async () => {
    writeDesk(workflows.path, 1, 'latest');
    t = await startTestRuntime({ workflowsDir: workflows.path });
    scriptDesk(t.llm);
    const parked = await parkedChat((token) => t.wsUrl(token), 'chat_latest');
    const v1 = completeOf(parked.opening)!.workflow_version;

    writeDesk(workflows.path, 2, 'latest');
    await folderSeen();
    const answered = await answer(parked.client, parked.requestId);
    expect(agentsOf(answered)).toEqual([]);
    expect(answered.find((e) => e.type === 'error')).toMatchObject({
      code: 'workflow_changed',
      message: expect.stringMatching(/waited for Intake, which the new version does not have/),
    });
    const changed = completeOf(answered)!;
    expect(changed).toMatchObject({ status: 'failed', reason: 'error' });
    expect(changed.workflow_version).not.toBe(v1);

    const asked = t.llm.requests.length;
    const next = await parked.client.exchange('go on please');
    expect(agentsOf(next)).toEqual(['Filer']);
    expect(next.find((e) => e.type === 'tool_result')).toMatchObject({ result: { filed_by: 'version 2' } });
    expect(completeOf(next)!.workflow_version).toBe(changed.workflow_version);
    // The parked answer is in the history the new version's agent reads.
    expect(JSON.stringify(t.llm.requests[asked]!.messages)).toContain('the card ending 4242');
    // Persisted: a client resuming from the start replays the error.
    const replay = await WsTestClient.connect(
      `${t.wsUrl(await mintToken({ claims: { workflow_id: 'desk', chat_id: 'chat_latest' } }))}&last_seq=0`,
    );
    await replay.waitFor((e) => e.type === 'error' && e.code === 'workflow_changed');
    await Promise.all([parked.client.close(), replay.close()]);
  });
});

function distributedSuite(kind: ClusterStore['kind']): void {
  const describeIf = kind === 'mongodb' && !mongoTestServerAvailable() ? describe.skip : describe;
  describeIf(`workflow versions across executors (${kind === 'mongodb' ? 'MongoDB' : 'SQLite'})`, () => {
    let mongo: MongoTestServer | undefined;
    let cluster: Cluster | undefined;
    let folders: TempDir;
    beforeAll(async () => {
      if (kind === 'mongodb') mongo = await startMongoTestServer();
    }, 30_000);
    afterAll(async () => {
      await cluster?.stop();
      await mongo?.dispose();
      folders?.remove();
    });

    it('runs every step of version 1 chats on version 1, on executors with version 2 files or none, after A is killed', async () => {
      folders = makeTempDir('mozaiks-versions-');
      const dirs = {
        a: path.join(folders.path, 'a'),
        b: path.join(folders.path, 'b'),
        c: path.join(folders.path, 'c'),
      };
      writeDesk(dirs.a, 1);
      writeDesk(dirs.b, 2);
      mkdirSync(dirs.c);
      // Executor A has version 1's files; the tool-runner has version 2's.
      cluster = await startCluster({
        counts: { executor: 1 },
        workflowsDir: dirs.a,
        serviceEnv: { 'tool-runner': { WORKFLOWS_DIR: dirs.b } },
        store: kind === 'mongodb' ? { kind, server: mongo! } : { kind },
      });
      scriptDesk(cluster.llm);
      // What a billing pipeline subscribed to the usage subjects receives.
      const billed: Array<Record<string, unknown>> = [];
      cluster.observer.subscribe<Record<string, unknown>>('mozaiks.usage.>', (m) => void billed.push(m.data));
      const ws = (token: string) => cluster!.wsUrl(0, token);
      const first = await parkedChat(ws, 'chat_v1_a');
      const second = await parkedChat(ws, 'chat_v1_b');
      const v1 = completeOf(first.opening)!.workflow_version;

      // A dies while both chats wait for their user; B (version 2's files) is the only executor.
      await cluster.services.executor[0]!.kill('SIGKILL');
      const b = await cluster.add('executor', { WORKFLOWS_DIR: dirs.b });
      const onB = await answer(first.client, first.requestId);
      expect(agentsOf(onB)).toEqual(['Closer']);
      expect(onB.find((e) => e.type === 'tool_result')).toMatchObject({ result: { filed_by: 'version 1' } });
      expect(completeOf(onB)).toMatchObject({ status: 'completed', workflow_version: v1 });
      // A chat opened now starts on B's files: version 2.
      const fresh = await WsTestClient.connect(
        ws(await mintToken({ claims: { workflow_id: 'desk', chat_id: 'chat_v2' } })),
      );
      const opened = await fresh.exchange('draft a refund for order 78');
      expect(agentsOf(opened)).toEqual(['Drafter']);
      const v2 = completeOf(opened)!.workflow_version;
      expect(v2).not.toBe(v1);

      // C has no folder for the workflow; B leaves: C runs the rest.
      await cluster.add('executor', { WORKFLOWS_DIR: dirs.c });
      await b.kill('SIGTERM');
      const onC = await answer(second.client, second.requestId);
      expect(agentsOf(onC)).toEqual(['Closer']);
      expect(onC.find((e) => e.type === 'tool_result')).toMatchObject({ result: { filed_by: 'version 1' } });
      expect(completeOf(onC)).toMatchObject({ status: 'completed', workflow_version: v1 });
      const usage = onC.find((e) => e.type === 'usage_update')!;
      expect(usage).toMatchObject({ workflow_version: v1 });
      await until(() => billed.some((b) => b.event_id === usage.event_id), 20_000, 'the usage event on NATS');
      expect(billed.find((b) => b.event_id === usage.event_id)).toMatchObject({ workflow_version: v1 });
      const fromFresh = fresh.events.length;
      const followUp = await answer(fresh, String(opened.find((e) => e.type === 'input_request')!.request_id));
      expect(fresh.events.length).toBeGreaterThan(fromFresh);
      expect(agentsOf(followUp)).toEqual(['Filer']);
      expect(followUp.find((e) => e.type === 'tool_result')).toMatchObject({ result: { filed_by: 'version 2' } });
      expect(completeOf(followUp)).toMatchObject({ status: 'completed', workflow_version: v2 });
      await Promise.all([first.client.close(), second.client.close(), fresh.close()]);
    }, 120_000);
  });
}

distributedSuite('sqlite');
distributedSuite('mongodb');
