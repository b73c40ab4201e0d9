// `mozaiks chat` as a user and as a script use it, against the running runtime.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, mintToken } from '@mozaiks/testing';
import { REPO_ROOT, startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

const BIN = path.join(REPO_ROOT, 'services/cli/bin/mozaiks.js');

function chat(
  args: string[],
  stdin: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'chat', ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('mozaiks chat', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime({ workflowsDir: path.join(REPO_ROOT, 'e2e/fixtures/workflows') });
  });
  afterAll(async () => rt.stop());

  it('scripts a chat with --json: each event a JSON line, the lines of stdin its messages and answers, done when its runs are', async () => {
    rt.llm.setFallback(() => ({ content: 'It is noon.', usage: { prompt_tokens: 9, completion_tokens: 3 } }));
    const url = rt.wsUrl('').replace(/\?token=$/, '');
    const token = await mintToken({ claims: { workflow_id: 'intake', chat_id: 'chat_cli_1' } });
    const run = await chat(['--url', url, '--token', token, '--json'], 'What time is it?\nAnd now?\n');
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; content?: string });
    expect(events.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual([
      'It is noon.',
      'It is noon.',
    ]);
    expect(events.filter((e) => e.type === 'usage_update')).toHaveLength(2);
  });

  it('shows replies, and answers an input request with the next line, signing its own token from JWT_SECRET', async () => {
    let n = 0;
    rt.llm.setFallback(() => ({
      content: n++ === 0 ? 'What is your name?' : 'Thanks, noted.',
      usage: { prompt_tokens: 9, completion_tokens: 3 },
    }));
    const url = rt.wsUrl('').replace(/\?token=$/, '');
    const env = { JWT_SECRET: TEST_SECRET, JWT_ISSUER: TEST_ISSUER, JWT_AUDIENCE: TEST_AUDIENCE };
    const run = await chat(
      ['--url', url, '--workflow', 'intake', '--app', 'app_456', '--user', 'user_123', '--chat', 'chat_cli_2'],
      'Start\nAda\n',
      env,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/: What is your name\?\n\? What is your name\?\n/);
    expect(run.stdout).toMatch(/: Thanks, noted\.\n/);
    expect(run.stdout).toMatch(/\(\d+ tokens, \$\d+\.\d{6}\)/);
  });

  it('says why it cannot connect (exit 1)', async () => {
    const url = rt.wsUrl('').replace(/\?token=$/, '');
    const run = await chat(['--url', url, '--token', 'nope'], '');
    expect(run).toMatchObject({ code: 1, stderr: expect.stringContaining('refused the launch token') });
  });
});
