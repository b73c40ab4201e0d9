// `mozaiks workflows list` and `mozaiks validate` on a store with chats on two versions of a
// workflow, run as an operator runs them: who is still on an old version, and whom a `latest`
// deploy would strand.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openStore } from '@mozaiks/store';
import type { ChatStores } from '@mozaiks/store';
import { makeTempDir } from '@mozaiks/testing';
import type { TempDir } from '@mozaiks/testing';
import { readWorkflowFiles, workflowVersion } from '@mozaiks/workflows';

const BIN = path.resolve(__dirname, '../bin/mozaiks.js');
let dir: TempDir;
beforeEach(() => {
  dir = makeTempDir('mozaiks-workflows-cli-');
});
afterEach(() => dir.remove());

function writeDesk(asker: string, policy: 'pinned' | 'latest'): string {
  const wf = path.join(dir.path, 'workflows', 'desk');
  rmSync(wf, { recursive: true, force: true });
  mkdirSync(wf, { recursive: true });
  writeFileSync(path.join(wf, 'orchestrator.yaml'), `workflow_name: Desk\nversion_policy: ${policy}\n`);
  writeFileSync(path.join(wf, 'agents.yaml'), `agents:\n  - name: ${asker}\n    system_message: You ask.\n`);
  return workflowVersion(readWorkflowFiles(wf));
}

/** A chat of `desk` that ran `version`, left waiting on `agent` when one is given. */
async function chatOn(stores: ChatStores, chatId: string, version: string, agent?: string): Promise<void> {
  const tenant = { app_id: 'app', user_id: 'ada' };
  const lease = (await stores.inbox.acquire(tenant, chatId, 'test', 10_000))!;
  const writer = await stores.log.openWriter(lease, 'desk');
  await writer.append({
    workflowVersion: version,
    ...(agent ? { awaitInput: { request_id: `q_${chatId}`, agent } } : {}),
  });
  await stores.inbox.release(lease, { inputsDone: writer.inputsDone, position: writer.position });
}

function mozaiks(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir.path,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      JWT_SECRET: 'a-test-secret-of-enough-length-0123456789',
      DATA_DIR: path.join(dir.path, 'data'),
      WORKFLOWS_DIR: path.join(dir.path, 'workflows'),
    },
  });
}

describe('mozaiks workflows list', () => {
  it('shows the current version, the versions chats run, chats per version and the oldest activity', async () => {
    const v1 = writeDesk('Intake', 'pinned');
    const stores = await openStore({ dataDir: path.join(dir.path, 'data') });
    await chatOn(stores, 'c1', v1, 'Intake');
    await chatOn(stores, 'c2', v1);
    const v2 = writeDesk('Drafter', 'pinned');
    await chatOn(stores, 'c3', v2);
    await stores.close();

    const json = mozaiks('workflows', 'list', '--json');
    expect(json.status).toBe(0);
    const listed = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(listed).toEqual([
      {
        workflow_id: 'desk',
        current_version: v2,
        version_policy: 'pinned',
        versions: expect.arrayContaining([
          { workflow_version: v1, chats: 2, oldest_activity: expect.any(String), current: false },
          { workflow_version: v2, chats: 1, oldest_activity: expect.any(String), current: true },
        ]),
      },
    ]);
    const text = mozaiks('workflows', 'list');
    expect(text.stdout).toContain(`desk  current ${v2} (version_policy pinned)`);
    expect(text.stdout).toMatch(new RegExp(`${v1}\\s+2 chat\\(s\\)  oldest last activity 20\\d\\d-`));
    expect(mozaiks('workflows', 'drop').status).toBe(2);
  });

  it('warns in validate of the chats a latest deploy would strand, and of none under pinned', async () => {
    const v1 = writeDesk('Intake', 'latest');
    const stores = await openStore({ dataDir: path.join(dir.path, 'data') });
    await chatOn(stores, 'c1', v1, 'Intake');
    await chatOn(stores, 'c2', v1, 'Intake');
    await stores.close();
    expect(mozaiks('validate').stdout).not.toContain('workflow_changed');

    writeDesk('Drafter', 'latest');
    const latest = mozaiks('validate');
    expect(latest.status).toBe(0);
    expect(latest.stdout).toMatch(
      /desk: warning: version_policy latest: 2 chat\(s\) wait for Intake, which version [0-9a-f]{16} removes; their answers will end with workflow_changed \(c1, c2\)/,
    );
    writeDesk('Drafter', 'pinned');
    expect(mozaiks('validate').stdout).not.toContain('workflow_changed');
  });
});
