// `mozaiks chats …` and `mozaiks users …`: the control plane's API over chats as an operator runs
// it on the store directly, each data request audited on stderr.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { WsTestClient, makeTempDir, mintToken } from '@mozaiks/testing';
import { REPO_ROOT, startTestRuntime } from './harness';

const BIN = path.join(REPO_ROOT, 'services/cli/bin/mozaiks.js');

function mozaiks(args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir }, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('mozaiks chats and users', () => {
  it('lists, shows, exports, forks, deletes and erases on the store, each data request audited', async () => {
    const data = makeTempDir('mozaiks-cli-chats-');
    try {
      const rt = await startTestRuntime({ dataDir: data });
      rt.llm.setFallback({ content: 'Sure.', usage: { prompt_tokens: 4, completion_tokens: 1 } });
      const token = await mintToken({ claims: { user_id: 'kim', workflow_id: 'hello', chat_id: 'chat_kim' } });
      const client = await WsTestClient.connect(rt.wsUrl(token));
      const run = await client.exchange('my address is 1 Main St');
      await client.close();
      await rt.stop();
      const end = run.find((e) => e.type === 'workflow_complete')!.seq as number;
      const app = ['--app', 'app_456'];

      const listed = await mozaiks(['chats', 'list', ...app, '--user', 'kim', '--json'], data.path);
      expect(listed.code).toBe(0);
      expect(lines(listed.stdout)).toMatchObject([{ chat_id: 'chat_kim', title: 'my address is 1 Main St', runs: 2 }]);
      const shown = await mozaiks(['chats', 'show', 'chat_kim', ...app, '--user', 'kim'], data.path);
      expect(shown.stdout).toMatch(/^chat_kim {2}user kim {2}hello .*"my address is 1 Main St"$/m);

      const forked = await mozaiks(
        ['chats', 'fork', 'chat_kim', ...app, '--user', 'kim', '--at-seq', String(end), '--to', 'chat_kim2'],
        data.path,
      );
      expect(forked).toMatchObject({ code: 0, stdout: `forked chat_kim at seq ${end} into chat_kim2\n` });
      expect(lines(forked.stderr)).toMatchObject([
        { message: 'data request', kind: 'fork_chat', caller_iss: 'mozaiks-cli' },
      ]);

      const exported = lines((await mozaiks(['users', 'export', 'kim', ...app], data.path)).stdout);
      expect(
        exported
          .filter((l) => l.chat)
          .map((l) => (l.chat as { chat_id: string }).chat_id)
          .sort(),
      ).toEqual(['chat_kim', 'chat_kim2']);
      expect(JSON.stringify(exported)).toContain('1 Main St');

      const deleted = await mozaiks(['chats', 'delete', 'chat_kim2', ...app, '--user', 'kim'], data.path);
      expect(deleted.stdout).toMatch(/^deleted 1 chat\(s\), \d+ event\(s\)$/m);
      const erased = await mozaiks(['users', 'erase', 'kim', ...app, '--json'], data.path);
      expect(lines(erased.stdout)).toEqual([
        { deleted: { chats: 1, events: expect.any(Number), dead_letters: 0, usage_events: 0 } },
      ]);
      expect(lines(erased.stderr)).toMatchObject([{ kind: 'erase_user', user_id: 'kim', chat_ids: ['chat_kim'] }]);
      expect((await mozaiks(['chats', 'list', ...app, '--json'], data.path)).stdout).toBe('');

      // Refusals: a missing flag is a usage error (2); an unknown chat a plain 1.
      expect(await mozaiks(['chats', 'show', 'chat_kim', ...app], data.path)).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('--user is required'),
      });
      expect(await mozaiks(['chats', 'show', 'chat_kim', ...app, '--user', 'kim'], data.path)).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('not_found'),
      });
    } finally {
      data.remove();
    }
  }, 60_000);
});
