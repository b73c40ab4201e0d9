// `mozaiks doctor` run as an operator runs it: a wrong LLM key, no NATS and an invalid workflow
// are each named with what to do; a sound setup passes.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { freePort, makeTempDir } from '@mozaiks/testing';
import type { TempDir } from '@mozaiks/testing';

const BIN = path.resolve(__dirname, '../bin/mozaiks.js');
let dir: TempDir;
let llm: Server;
let llmBase: string;

beforeAll(async () => {
  // An OpenAI-compatible endpoint that knows one key.
  llm = createServer((req, res) =>
    res
      .writeHead(req.headers.authorization === 'Bearer sk-right' ? 200 : 401, { 'content-type': 'application/json' })
      .end('{"data":[]}'),
  );
  await new Promise<void>((r) => llm.listen(0, '127.0.0.1', r));
  llmBase = `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`;
});
afterAll(() => llm.close());
beforeEach(() => {
  dir = makeTempDir('mozaiks-doctor-');
  const good = path.join(dir.path, 'workflows', 'fine');
  mkdirSync(good, { recursive: true });
  writeFileSync(path.join(good, 'orchestrator.yaml'), 'workflow_name: Fine\n');
  writeFileSync(path.join(good, 'agents.yaml'), 'agents:\n  - name: A\n    system_message: Hi.\n');
});
afterEach(() => dir.remove());

function run(env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'doctor'],
      {
        cwd: dir.path,
        env: {
          PATH: process.env.PATH ?? '',
          DATA_DIR: path.join(dir.path, 'data'),
          WORKFLOWS_DIR: 'workflows',
          ...env,
        },
        encoding: 'utf8',
      },
      (error, stdout) => {
        resolve({ code: error ? Number(error.code) : 0, stdout });
      },
    );
  });
}

describe('mozaiks doctor', () => {
  it('names a wrong LLM key, an absent NATS and an invalid workflow, each with its fix (exit 1)', async () => {
    const broken = path.join(dir.path, 'workflows', 'broken');
    mkdirSync(broken);
    writeFileSync(path.join(broken, 'orchestrator.yaml'), 'workflow_name: Broken\nmax_turns: 0\n');
    writeFileSync(path.join(broken, 'agents.yaml'), 'agents:\n  - name: A\n    system_message: Hi.\n');
    const { code, stdout } = await run({
      OPENAI_API_KEY: 'sk-wrong',
      OPENAI_API_BASE: llmBase,
      NATS_URL: `nats://127.0.0.1:${await freePort()}`,
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAIL llm: 127\.0\.0\.1:\d+ refused the key \(401\): set OPENAI_API_KEY to a valid key/m);
    expect(stdout).toMatch(
      /^FAIL nats: no NATS server with JetStream at nats:\/\/127\.0\.0\.1:\d+ .*start nats-server -js there, or fix NATS_URL/m,
    );
    expect(stdout).toMatch(
      /^FAIL workflows: 1 problem\(s\)[^\n]*\n\s+workflows\/broken\/orchestrator\.yaml:2:12: max_turns: /m,
    );
    expect(stdout).toMatch(/^ok {3}store: SQLite under /m);
    expect(stdout).toContain('3 thing(s) to fix');
    // The key itself is never printed.
    expect(stdout).not.toContain('sk-wrong');
  });

  it('passes a sound setup (exit 0), and names a configuration it cannot run with', async () => {
    const sound = await run({ OPENAI_API_KEY: 'sk-right', OPENAI_API_BASE: llmBase });
    expect(sound).toMatchObject({ code: 0 });
    expect(sound.stdout).toMatch(/^ok {3}llm: 127\.0\.0\.1:\d+ answers and accepts the key/m);
    expect(sound.stdout).toContain('everything the runtime needs is in place');
    const misconfigured = await run({ MAX_MESSAGE_BYTES: 'lots' });
    expect(misconfigured.code).toBe(1);
    expect(misconfigured.stdout).toMatch(/^FAIL config: MAX_MESSAGE_BYTES: must be a number of bytes/m);
    expect(misconfigured.stdout).toMatch(/^ok {3}workflows: 1 valid: fine/m);
  });
});
