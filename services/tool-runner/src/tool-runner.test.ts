// Tool calls that go wrong come back as tool errors, and the runner keeps serving.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryBus } from '@mozaiks/bus';
import { subjects } from '@mozaiks/protocol';
import type { ToolReply, ToolRequest } from '@mozaiks/protocol';
import { createLogger } from '@mozaiks/telemetry';
import { Writable } from 'node:stream';
import { ToolRunner } from './tool-runner';

let root: string;
let runner: ToolRunner;
const silent = createLogger({ service: 'test', level: 'silent', destination: new Writable({ write: (_c, _e, d) => d() }) });

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'mozaiks-tools-'));
  mkdirSync(path.join(root, 'wf'));
  writeFileSync(path.join(root, 'secret.txt'), 'outside');
  symlinkSync(path.join(root, 'secret.txt'), path.join(root, 'wf', 'link.js'));
  writeFileSync(path.join(root, 'wf', 'tools.mjs'), [
    'export const ok = async ({ n }) => ({ n });',
    'export const hang = () => new Promise(() => setInterval(() => {}, 1000));',
    'export const quit = () => process.exit(3);',
    // 100 MB, written as a logging loop does: a chunk, then back to the event loop.
    'export const flood = async () => { for (let i = 0; i < 1600; i++) { process.stdout.write("x".repeat(65536)); await new Promise((r) => setImmediate(r)); } return {}; };',
    'export const bigint = () => ({ n: 10n });',
    'export const fn = () => () => 1;',
    'export const noisy = () => { console.log("progress..."); return { done: true }; };',
    'export const notAFunction = 42;',
  ].join('\n'));
  writeFileSync(path.join(root, 'wf', 'tools.py'), [
    'import sys',
    'def greet(name: str) -> dict:',
    '    print("printing does not break the result")',
    '    return {"hello": name}',
    'def leave():',
    '    sys.exit(2)',
    'def not_json():',
    '    return {1, 2}',
  ].join('\n'));
  writeFileSync(path.join(root, 'wf', 'broken.js'), 'export const x = ;');
  runner = new ToolRunner({ bus: new MemoryBus(), subjects: subjects(), workflowsDir: root, logger: silent });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function call(file: string, fn: string, args: Record<string, unknown> = {}, timeoutMs = 5000): Promise<ToolReply> {
  const request: ToolRequest = { v: 1, app_id: 'a', user_id: 'u', chat_id: 'c', workflow_id: 'wf', file, function: fn, args, context: {}, timeout_ms: timeoutMs };
  return runner.handle(request);
}

describe('ToolRunner', () => {
  it.each([
    ['a timeout', 'tools.mjs', 'hang', 'timeout', 300],
    ['process.exit', 'tools.mjs', 'quit', 'tool_crashed', 5000],
    ['100 MB of output', 'tools.mjs', 'flood', 'output_limit', 10000],
    ['a BigInt result', 'tools.mjs', 'bigint', 'invalid_result', 5000],
    ['a function result', 'tools.mjs', 'fn', 'invalid_result', 5000],
    ['an export that is not a function', 'tools.mjs', 'notAFunction', 'tool_not_found', 5000],
    ['a syntax error', 'broken.js', 'x', 'tool_load_failed', 5000],
    ['sys.exit in Python', 'tools.py', 'leave', 'tool_failed', 5000],
    ['a Python set result', 'tools.py', 'not_json', 'invalid_result', 5000],
    ['a missing Python argument', 'tools.py', 'greet', 'tool_failed', 5000],
    ['a file outside the workflow folder', '../secret.txt', 'x', 'tool_not_found', 5000],
    ['a link out of the workflow folder', 'link.js', 'x', 'tool_not_found', 5000],
  ])('contains %s as a tool error, then serves the next call', async (_name, file, fn, code, timeoutMs) => {
    const reply = await call(file, fn, {}, timeoutMs);
    expect(reply).toMatchObject({ ok: false, error: { code } });
    if (!reply.ok) expect(reply.error.message.length).toBeGreaterThan(0);
    await expect(call('tools.mjs', 'ok', { n: 7 })).resolves.toMatchObject({ ok: true, result: { n: 7 } });
  });

  it('keeps tool prints out of the result, in JavaScript and Python', async () => {
    await expect(call('tools.mjs', 'noisy')).resolves.toMatchObject({ ok: true, result: { done: true } });
    await expect(call('tools.py', 'greet', { name: 'Ada' })).resolves.toMatchObject({ ok: true, result: { hello: 'Ada' } });
  });

  it('refuses a malformed request', async () => {
    await expect(runner.handle({ v: 1, file: 'tools.mjs' })).resolves.toMatchObject({ ok: false, error: { code: 'invalid_request' } });
  });
});
