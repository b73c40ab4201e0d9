// `mozaiks replay <chat>`: a chat's history read back from the store as an operator reads it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { WsTestClient, makeTempDir, mintToken } from '@mozaiks/testing';
import { REPO_ROOT, startTestRuntime } from './harness';

const BIN = path.join(REPO_ROOT, 'services/cli/bin/mozaiks.js');

function replay(args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'replay', ...args],
      { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir }, encoding: 'utf8' },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

describe('mozaiks replay', () => {
  it("prints a chat's events in seq order, readable or as JSON lines, and says when there is no such chat", async () => {
    const data = makeTempDir('mozaiks-replay-');
    try {
      const rt = await startTestRuntime({ dataDir: data });
      rt.llm.setFallback(() => ({ content: 'Welcome aboard.', usage: { prompt_tokens: 12, completion_tokens: 3 } }));
      const client = await WsTestClient.connect(
        rt.wsUrl(await mintToken({ claims: { workflow_id: 'hello', chat_id: 'chat_replayed' } })),
      );
      const live = (await client.exchange('hello')).filter((e) => e.seq !== undefined);
      await client.close();
      await rt.stop();

      const readable = await replay(['chat_replayed', '--app', 'app_456', '--user', 'user_123'], data.path);
      expect(readable.code).toBe(0);
      expect(readable.stdout).toMatch(/^\s+1 {2}\S+ {2}agent_message {2}Assistant: Welcome aboard\.$/m);
      expect(readable.stdout).toMatch(/workflow_complete {2}completed, agents_done, 1 turn\(s\)$/m);
      expect(readable.stdout).toMatch(/usage_update {2}15 tokens, \$/m);
      const json = await replay(['chat_replayed', '--app', 'app_456', '--user', 'user_123', '--json'], data.path);
      expect(
        json.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { seq: number; event_id: string }),
      ).toEqual(live.map((e) => expect.objectContaining({ seq: e.seq, event_id: e.event_id })));
      // Another tenant's view of the same chat id is empty.
      expect(await replay(['chat_replayed'], data.path)).toMatchObject({
        code: 1,
        stdout: expect.stringContaining('no chat chat_replayed of app dev_app and user dev_user'),
      });
      expect(await replay([], data.path)).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('needs the chat id'),
      });
    } finally {
      data.remove();
    }
  });
});
