// The WorkflowVersionStore contract, and a chat's recorded version on the ChatLog: what every
// adapter must do. Run it with `workflowVersionContract` and a factory of stores over one database.
import { progressOf, writerFor } from './lease-churn.support';
import type { ChatStores } from './open-store';
import type { StoreFactory } from './store.contract';

const ada = { app_id: 'app_1', user_id: 'ada' };
const bob = { app_id: 'app_1', user_id: 'bob' };
const V1 = '0123456789abcdef';
const V2 = 'fedcba9876543210';

export function workflowVersionContract(name: string, factory: StoreFactory): void {
  describe(`WorkflowVersionStore contract: ${name}`, () => {
    let stores: ChatStores;
    beforeEach(async () => {
      stores = await factory.create();
    });
    afterEach(async () => stores.close());

    it('stores a version once, under its workflow and hash, for every other handle to read', async () => {
      const files = { 'orchestrator.yaml': 'workflow_name: One\n', 'tools/echo.py': 'def echo(x):\n    return x\n' };
      await stores.versions.saveWorkflowVersion('wf', V1, files);
      // Saved again (another process loading the same folder): nothing changes.
      await stores.versions.saveWorkflowVersion('wf', V1, { 'orchestrator.yaml': 'something else' });
      await stores.versions.saveWorkflowVersion('other', V1, { 'agents.yaml': 'agents: []' });
      const other = await factory.reopen();
      try {
        expect(await other.versions.loadWorkflowVersion('wf', V1)).toEqual(files);
        expect(await other.versions.loadWorkflowVersion('wf', V2)).toBeUndefined();
        expect(await other.versions.loadWorkflowVersion('third', V1)).toBeUndefined();
        expect((await other.versions.listWorkflowVersions('wf')).map((v) => v.version)).toEqual([V1]);
        expect((await other.versions.listWorkflowVersions()).map((v) => v.workflow_id).sort()).toEqual(['other', 'wf']);
      } finally {
        await other.close();
      }
    });

    it("records the version a step names as the chat's, for every later writer, until a step names another", async () => {
      const { writer, lease } = await writerFor(stores, ada, 'c1');
      expect(writer.chat.workflow_version).toBeUndefined();
      await writer.append({ workflowVersion: V1, run: { run_id: 'r1', input_seq: 1, workflow_id: 'wf' } });
      await writer.append({
        awaitInput: { request_id: 'q1', agent: 'Intake' },
        run: { run_id: 'r1', input_seq: 1, workflow_id: 'wf', finish: 'completed' },
      });
      expect(writer.chat.workflow_version).toBe(V1);
      await stores.inbox.release(lease, progressOf(writer));
      const other = await factory.reopen();
      try {
        expect((await other.log.getChat(ada, 'c1'))?.workflow_version).toBe(V1);
        const next = await writerFor(other, ada, 'c1', 'exec-2');
        expect(next.writer.chat.workflow_version).toBe(V1);
        await next.writer.append({ workflowVersion: V2 });
        await next.writer.append({ messages: [{ role: 'user', content: 'hi' }] });
        expect((await other.log.getChat(ada, 'c1'))?.workflow_version).toBe(V2);
      } finally {
        await other.close();
      }
    });

    it('tells operators the chats per version and the chats waiting on their user', async () => {
      const opened = async (t: typeof ada, chatId: string, version: string, waiting: boolean) => {
        const { writer, lease } = await writerFor(stores, t, chatId);
        await writer.append({
          workflowVersion: version,
          ...(waiting ? { awaitInput: { request_id: `q-${chatId}`, agent: 'Intake' } } : {}),
        });
        await stores.inbox.release(lease, progressOf(writer));
      };
      await opened(ada, 'c1', V1, true);
      await opened(bob, 'c2', V1, false);
      await opened(bob, 'c3', V2, true);
      const usage = await stores.versions.versionUsage();
      expect(
        usage
          .map(({ workflow_id, workflow_version, chats }) => ({ workflow_id, workflow_version, chats }))
          .sort((a, b) => String(a.workflow_version).localeCompare(String(b.workflow_version))),
      ).toEqual([
        { workflow_id: 'wf', workflow_version: V1, chats: 2 },
        { workflow_id: 'wf', workflow_version: V2, chats: 1 },
      ]);
      for (const u of usage) expect(Date.parse(u.oldest_activity)).toBeGreaterThan(Date.now() - 60_000);
      const waiting = await stores.versions.waitingChats('wf');
      expect(waiting.map((w) => [w.chat.chat_id, w.workflow_version, w.awaiting.agent]).sort()).toEqual([
        ['c1', V1, 'Intake'],
        ['c3', V2, 'Intake'],
      ]);
      expect(await stores.versions.waitingChats('another')).toEqual([]);
    });
  });
}
