// The tool-runner against hostile and ordinary tools, in every language it runs: each misdeed is
// contained as a tool error naming what happened, and the runner serves the next call.
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { MemoryBus } from '@mozaiks/bus';
import { RuntimeConfig } from '@mozaiks/config';
import { subjects } from '@mozaiks/protocol';
import type { ToolReply, ToolRequest } from '@mozaiks/protocol';
import { createLogger } from '@mozaiks/telemetry';
import { makeTempDir, processEnded } from '@mozaiks/testing';
import { reservedToolEnv } from '@mozaiks/workflows';
import type { TempDir } from '@mozaiks/testing';
import { ToolRunner } from './tool-runner';
import type { ToolRunnerLimits } from './tool-runner-options';

const silent = createLogger({
  service: 'test',
  level: 'silent',
  destination: new Writable({ write: (_c, _e, d) => d() }),
});
/** What the runner's own environment holds: runtime secrets next to a variable a tool declares. */
const RUNNER_ENV = {
  JWT_SECRET: 'jwt-secret-never-for-tools',
  OPENAI_API_KEY: 'sk-never-for-tools',
  MONGODB_URI: 'mongodb://admin:never-for-tools@db',
  SENDGRID_API_KEY: 'sg-declared',
};

const JS_TOOLS = `
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
let calls = 0;
export const ok = async ({ n }) => ({ n, pid: process.pid, calls: ++calls });
export const env = () => ({ ...process.env });
export const leakOnError = () => { console.error('using key ' + process.env.SENDGRID_API_KEY); throw new Error('rejected key ' + process.env.SENDGRID_API_KEY); };
export const leakOnCrash = () => { process.stderr.write('dying with ' + process.env.SENDGRID_API_KEY + '\\n'); process.exit(9); };
export const readOwn = () => readFileSync('./data.txt', 'utf8');
export const readOutside = () => readFileSync('../secret.txt', 'utf8');
export const readParentEnv = () => readFileSync('/proc/' + process.ppid + '/environ', 'utf8');
export const writeFile = async () => (await import('node:fs')).writeFileSync('./planted.txt', 'x');
export const loop = () => { for (;;) {} };
export const hoard = () => { const keep = []; for (;;) keep.push(new Array(1e6).fill(Math.random())); };
export const hoardBuffers = () => { const keep = []; for (;;) keep.push(Buffer.alloc(16 * 1024 * 1024, 1)); };
export const quit = () => process.exit(3);
export const spawnLoop = () => { for (let i = 0; i < 1000; i++) spawn('sleep', ['60']); return 'spawned'; };
export const addon = () => { process.dlopen({ exports: {} }, './addon.node'); return 'loaded'; };
export const inspect = async () => { (await import('node:inspector')).open(0); return 'listening'; };
export const niceness = async () => (await import('node:os')).getPriority();
export const killRunner = () => process.kill(process.ppid, 'SIGKILL');
export const flood = async () => { for (let i = 0; i < 1600; i++) { process.stdout.write('x'.repeat(65536)); await new Promise((r) => setImmediate(r)); } return {}; };
export const bigint = () => ({ n: 10n });
export const fn = () => () => 1;
export const nan = () => NaN;
export const nested = () => ({ items: [{ id: 1, when: new Date(0), note: undefined }, { id: 2, tags: new Set(['a']) }] });
export const dated = () => ({ when: new Date(0), note: undefined, list: [1, 2] });
export const boom = () => { throw new Error('the database is down'); };
export const unicode = () => ({ text: 'żółć 🚀 '.repeat(50000) });
export const slow = async () => { await new Promise((r) => setTimeout(r, 300)); return 'finished'; };
export const stray = () => { Promise.reject(new Error('nobody awaited me')); return new Promise(() => {}); };
export const noisy = () => { console.log('progress...'); console.error('warning!'); return { done: true }; };
export const notAFunction = 42;
`;

const PY_TOOLS = `
import os, sys, subprocess, asyncio
calls = 0
def ok(n: int = 0) -> dict:
    global calls
    calls += 1
    return {"n": n, "pid": os.getpid(), "calls": calls}
def env():
    return dict(os.environ)
def read_own():
    with open("data.txt") as f:
        return f.read()
def read_outside():
    with open("../secret.txt") as f:
        return f.read()
def read_parent_env():
    with open(f"/proc/{os.getppid()}/environ") as f:
        return f.read()
def write_file():
    with open("planted.txt", "w") as f:
        f.write("x")
def loop():
    while True:
        pass
def hoard():
    keep = []
    while True:
        keep.append(b" " * 10**7)
def leave():
    sys.exit(2)
def hard_exit():
    os._exit(4)
def spawn_loop():
    for _ in range(1000):
        subprocess.Popen(["sleep", "60"])
def niceness():
    return os.nice(0)
def fork():
    return os.fork()
def fork_exec_afresh():
    del sys.modules["_posixsubprocess"]
    import _posixsubprocess
    return "imported"
def unlimit():
    import resource
    resource.setrlimit(resource.RLIMIT_DATA, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
def native():
    import ctypes
    return ctypes.CDLL(None).getpid()
def kill_runner():
    os.kill(os.getppid(), 9)
def flood():
    for _ in range(1600):
        sys.stdout.write("x" * 65536)
    return {}
def not_json():
    return {1, 2}
def boom():
    raise RuntimeError("the database is down")
def greet(name: str) -> dict:
    print("printing does not break the result")
    return {"hello": name}
async def later(name: str) -> dict:
    await asyncio.sleep(0.01)
    return {"later": name}
`;

const TS_TOOLS = `
import { shout } from './helpers';
enum Mood { Calm = 'calm' }
interface Args { text: string }
export async function echo({ text }: Args): Promise<{ text: string; mood: Mood; pid: number }> {
  return { text: shout(text), mood: Mood.Calm, pid: process.pid };
}
`;

function toolsYaml(entries: Array<[file: string, fn: string, env?: string[]]>): string {
  return `tools:\n${entries
    .map(
      ([file, fn, env]) =>
        `  - agent: Worker\n    name: ${file.replace(/\W/g, '_')}_${fn}\n    file: ${file}\n    function: ${fn}\n    description: ${fn}\n${env ? `    env: [${env.join(', ')}]\n` : ''}`,
    )
    .join('')}`;
}

const JS_FUNCTIONS = [
  'ok',
  'unicode',
  'slow',
  'stray',
  'env',
  'leakOnError',
  'leakOnCrash',
  'readOwn',
  'readOutside',
  'readParentEnv',
  'writeFile',
  'loop',
  'hoard',
  'hoardBuffers',
  'quit',
  'spawnLoop',
  'addon',
  'inspect',
  'niceness',
  'killRunner',
  'flood',
  'bigint',
  'fn',
  'nan',
  'nested',
  'dated',
  'boom',
  'noisy',
  'notAFunction',
];
const PY_FUNCTIONS = [
  'ok',
  'env',
  'read_own',
  'read_outside',
  'read_parent_env',
  'write_file',
  'loop',
  'hoard',
  'leave',
  'hard_exit',
  'spawn_loop',
  'niceness',
  'fork',
  'fork_exec_afresh',
  'unlimit',
  'native',
  'kill_runner',
  'flood',
  'not_json',
  'boom',
  'greet',
  'later',
];

function writeWorkflow(root: string): void {
  const dir = path.join(root, 'wf');
  mkdirSync(dir);
  writeFileSync(path.join(root, 'secret.txt'), 'outside the workflow');
  writeFileSync(path.join(dir, 'data.txt'), 'inside the workflow');
  writeFileSync(path.join(dir, 'orchestrator.yaml'), 'workflow_name: Hostile\nmax_turns: 2\n');
  writeFileSync(path.join(dir, 'agents.yaml'), 'agents:\n  - name: Worker\n    system_message: You use tools.\n');
  writeFileSync(path.join(dir, 'tools.mjs'), JS_TOOLS);
  writeFileSync(path.join(dir, 'tools.py'), PY_TOOLS);
  writeFileSync(path.join(dir, 'typed.ts'), TS_TOOLS);
  writeFileSync(path.join(dir, 'helpers.ts'), 'export const shout = (s: string): string => s.toUpperCase();\n');
  writeFileSync(path.join(dir, 'plain.js'), 'export const hi = ({ name }) => ({ hi: name, kind: "esm .js" });\n');
  writeFileSync(path.join(dir, 'common.cjs'), 'exports.hi = async ({ name }) => ({ hi: name, kind: "cjs" });\n');
  writeFileSync(path.join(dir, 'broken.js'), 'export const x = ;\n');
  writeFileSync(path.join(dir, 'counter.mjs'), 'export const version = () => 1;\n');
  writeFileSync(
    path.join(dir, 'tools.yaml'),
    toolsYaml([
      ...JS_FUNCTIONS.map((f): [string, string, string[]?] => [
        'tools.mjs',
        f,
        ['env', 'leakOnError', 'leakOnCrash'].includes(f) ? ['SENDGRID_API_KEY'] : undefined,
      ]),
      ...PY_FUNCTIONS.map((f): [string, string, string[]?] => [
        'tools.py',
        f,
        f === 'env' ? ['SENDGRID_API_KEY'] : undefined,
      ]),
      ['typed.ts', 'echo'],
      ['plain.js', 'hi'],
      ['common.cjs', 'hi'],
      ['broken.js', 'x'],
      ['counter.mjs', 'version'],
    ]),
  );
  // A folder with a tool file that links out of it: the link is no part of the workflow's version.
  const linked = path.join(root, 'linked');
  mkdirSync(linked);
  writeFileSync(path.join(linked, 'orchestrator.yaml'), 'workflow_name: Linked\nmax_turns: 2\n');
  writeFileSync(path.join(linked, 'agents.yaml'), 'agents:\n  - name: Worker\n    system_message: You use tools.\n');
  symlinkSync(path.join(root, 'secret.txt'), path.join(linked, 'link.mjs'));
  writeFileSync(path.join(linked, 'tools.yaml'), toolsYaml([['link.mjs', 'x']]));
}

let workflows: TempDir;
beforeAll(() => {
  workflows = makeTempDir('mozaiks-tools-');
  writeWorkflow(workflows.path);
});
afterAll(() => workflows.remove());

function startRunner(limits: ToolRunnerLimits = {}): ToolRunner {
  return new ToolRunner({
    bus: new MemoryBus(),
    subjects: subjects(),
    workflowsDir: workflows.path,
    logger: silent,
    toolEnv: RUNNER_ENV,
    limits: { memoryMb: 128, ...limits },
  });
}

function request(
  file: string,
  fn: string,
  args: Record<string, unknown> = {},
  options: { timeoutMs?: number; appId?: string } = {},
): ToolRequest {
  return {
    v: 1,
    app_id: options.appId ?? 'app_a',
    user_id: 'u',
    chat_id: 'c',
    workflow_id: 'wf',
    file,
    function: fn,
    args,
    context: { plan: 'pro' },
    timeout_ms: options.timeoutMs ?? 5000,
  };
}

describe('ToolRunner with hostile tools', () => {
  let runner: ToolRunner;
  beforeAll(() => (runner = startRunner()));
  afterAll(() => runner.stop());
  const call = (file: string, fn: string, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<ToolReply> =>
    runner.handle(request(file, fn, args, timeoutMs === undefined ? {} : { timeoutMs }));

  it.each([
    ['reads a file outside its folder', 'tools.mjs', 'readOutside', 'permission_denied', /outside the workflow folder/],
    [
      "reads the runner's environment through /proc",
      'tools.mjs',
      'readParentEnv',
      'permission_denied',
      /outside the workflow folder/,
    ],
    ['writes a file', 'tools.mjs', 'writeFile', 'permission_denied', /may not write/],
    ['loops forever', 'tools.mjs', 'loop', 'timeout', /did not finish within 400 ms/],
    ['allocates objects without bound', 'tools.mjs', 'hoard', 'memory_limit', /ran out of memory/],
    ['allocates buffers without bound', 'tools.mjs', 'hoardBuffers', 'memory_limit', /ran out of memory/],
    ['calls process.exit', 'tools.mjs', 'quit', 'tool_exited', /exit code 3/],
    ['spawns children in a loop', 'tools.mjs', 'spawnLoop', 'permission_denied', /may not start processes/],
    ['loads a native addon', 'tools.mjs', 'addon', 'permission_denied', /may not load native addons/],
    ['opens an inspector port', 'tools.mjs', 'inspect', 'permission_denied', /may not use Inspector/],
    ['signals the runner', 'tools.mjs', 'killRunner', 'permission_denied', /may not signal other processes/],
    ['prints 100 MB', 'tools.mjs', 'flood', 'output_limit', /printed more than 1048576 bytes/],
    ['returns a BigInt', 'tools.mjs', 'bigint', 'invalid_result', /not JSON/],
    ['returns a function', 'tools.mjs', 'fn', 'invalid_result', /function, which is not JSON/],
    ['returns NaN', 'tools.mjs', 'nan', 'invalid_result', /NaN, which is not JSON/],
    [
      'returns a Set deep inside',
      'tools.mjs',
      'nested',
      'invalid_result',
      /the result.items\[1\].tags is a Set, which is not JSON/,
    ],
    ['throws', 'tools.mjs', 'boom', 'tool_failed', /the database is down/],
    [
      'leaves a rejected promise unhandled',
      'tools.mjs',
      'stray',
      'tool_failed',
      /left an error unhandled: nobody awaited me/,
    ],
    ['exports no such function', 'tools.mjs', 'notAFunction', 'tool_not_found', /exports no function "notAFunction"/],
    ['does not parse', 'broken.js', 'x', 'tool_load_failed', /could not load wf\/broken.js/],
    ['is not declared in tools.yaml', 'tools.mjs', 'undeclared', 'tool_not_found', /not a tool declared in tools.yaml/],
    [
      '(Python) reads a file outside its folder',
      'tools.py',
      'read_outside',
      'permission_denied',
      /outside the workflow folder/,
    ],
    [
      "(Python) reads the runner's environment through /proc",
      'tools.py',
      'read_parent_env',
      'permission_denied',
      /outside the workflow folder/,
    ],
    ['(Python) writes a file', 'tools.py', 'write_file', 'permission_denied', /may not write/],
    ['(Python) loops forever', 'tools.py', 'loop', 'timeout', /did not finish within 400 ms/],
    ['(Python) allocates without bound', 'tools.py', 'hoard', 'memory_limit', /ran out of memory/],
    ['(Python) calls sys.exit', 'tools.py', 'leave', 'tool_exited', /sys.exit\(2\)/],
    ['(Python) calls os._exit', 'tools.py', 'hard_exit', 'tool_exited', /exit code 4/],
    ['(Python) spawns children in a loop', 'tools.py', 'spawn_loop', 'permission_denied', /may not start processes/],
    ['(Python) forks', 'tools.py', 'fork', 'permission_denied', /may not start processes/],
    [
      '(Python) re-imports the process primitive',
      'tools.py',
      'fork_exec_afresh',
      'permission_denied',
      /may not import _posixsubprocess/,
    ],
    ['(Python) lifts its memory limit', 'tools.py', 'unlimit', 'permission_denied', /may not change their limits/],
    ['(Python) loads native code', 'tools.py', 'native', 'permission_denied', /may not import _ctypes/],
    ['(Python) signals the runner', 'tools.py', 'kill_runner', 'permission_denied', /may not signal other processes/],
    ['(Python) prints 100 MB', 'tools.py', 'flood', 'output_limit', /printed more than 1048576 bytes/],
    ['(Python) returns a set', 'tools.py', 'not_json', 'invalid_result', /not JSON/],
    ['(Python) raises', 'tools.py', 'boom', 'tool_failed', /RuntimeError: the database is down/],
    ['(Python) misses an argument', 'tools.py', 'greet', 'tool_failed', /TypeError: .*name/],
  ])(
    'contains a tool that %s, then serves the next call',
    async (_name, file, fn, code, message) => {
      const okFile = file.endsWith('.py') ? 'tools.py' : 'tools.mjs';
      const before = await call(okFile, 'ok', { n: 1 });
      const reply = await call(file, fn, {}, code === 'timeout' ? 400 : 10_000);
      expect(reply).toMatchObject({ ok: false, error: { code, message: expect.stringMatching(message) } });
      const after = await call(okFile, 'ok', { n: 7 });
      expect(after).toMatchObject({ ok: true, result: { n: 7 } });
      // A failed call retires its worker: the next one runs in a fresh process.
      if (before.ok && after.ok && file === okFile && code !== 'tool_not_found') {
        expect((after.result as { pid: number }).pid).not.toBe((before.result as { pid: number }).pid);
      }
    },
    30_000,
  );

  it.each([
    ['JavaScript', 'tools.mjs'],
    ['Python', 'tools.py'],
  ])('gives %s tools the variables they declare and no runtime secret', async (_language, file) => {
    const reply = await call(file, 'env');
    expect(reply).toMatchObject({ ok: true, result: { SENDGRID_API_KEY: 'sg-declared' } });
    expect(Object.keys((reply as { result: object }).result)).toEqual(['SENDGRID_API_KEY']);
    // And a tool that declares nothing sees nothing.
    const own = await call(file, file.endsWith('.py') ? 'read_own' : 'readOwn');
    expect(own).toMatchObject({ ok: true, result: 'inside the workflow' });
  });

  it("keeps the values of a tool's variables out of its error messages", async () => {
    for (const fn of ['leakOnError', 'leakOnCrash']) {
      const reply = await call('tools.mjs', fn);
      expect(reply).toMatchObject({ ok: false, error: { message: expect.stringContaining('[REDACTED]') } });
      expect(JSON.stringify(reply)).not.toContain(RUNNER_ENV.SENDGRID_API_KEY);
    }
  });

  it('runs ESM .js, .mjs, .cjs, .ts (with a .ts import) and Python tools, async included', async () => {
    await expect(call('plain.js', 'hi', { name: 'Ada' })).resolves.toMatchObject({
      ok: true,
      result: { hi: 'Ada', kind: 'esm .js' },
    });
    await expect(call('common.cjs', 'hi', { name: 'Ada' })).resolves.toMatchObject({
      ok: true,
      result: { hi: 'Ada', kind: 'cjs' },
    });
    await expect(call('typed.ts', 'echo', { text: 'calm down' })).resolves.toMatchObject({
      ok: true,
      result: { text: 'CALM DOWN', mood: 'calm' },
    });
    await expect(call('tools.py', 'greet', { name: 'Ada' })).resolves.toMatchObject({
      ok: true,
      result: { hello: 'Ada' },
    });
    await expect(call('tools.py', 'later', { name: 'Ada' })).resolves.toMatchObject({
      ok: true,
      result: { later: 'Ada' },
    });
    await expect(call('tools.mjs', 'noisy')).resolves.toMatchObject({ ok: true, result: { done: true } });
    // Dates are JSON by their own account; absent optional fields are left out.
    await expect(call('tools.mjs', 'dated')).resolves.toEqual(
      expect.objectContaining({ ok: true, result: { when: '1970-01-01T00:00:00.000Z', list: [1, 2] } }),
    );
    // A large result arrives in many chunks; characters split between them arrive whole.
    await expect(call('tools.mjs', 'unicode')).resolves.toMatchObject({
      ok: true,
      result: { text: 'żółć 🚀 '.repeat(50000) },
    });
  });

  it("never lets a tool declare one of the runtime's variables", () => {
    const variables = Object.keys(RuntimeConfig.in.shape);
    expect(variables.length).toBeGreaterThan(20);
    expect(variables.filter((name) => !reservedToolEnv(name))).toEqual([]);
  });

  it("runs workers below the runner's CPU priority", async () => {
    await expect(call('tools.mjs', 'niceness')).resolves.toMatchObject({ ok: true, result: 10 });
    await expect(call('tools.py', 'niceness')).resolves.toMatchObject({ ok: true, result: 10 });
  });

  it('refuses a malformed request', async () => {
    await expect(runner.handle({ v: 1, file: 'tools.mjs' })).resolves.toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    });
  });
});

describe('ToolRunner workers', () => {
  it('keeps a worker warm across calls and replaces it after its call budget, without a cold call', async () => {
    const runner = startRunner({ workerMaxCalls: 3 });
    const call = async (n: number) =>
      (await runner.handle(request('tools.mjs', 'ok', { n }))) as ToolReply & {
        ok: true;
        result: { pid: number; calls: number };
      };
    try {
      const first = [await call(0), await call(1), await call(2)];
      expect(first.map((r) => r.result.calls)).toEqual([1, 2, 3]);
      expect(new Set(first.map((r) => r.result.pid)).size).toBe(1);
      expect(Math.max(first[1]!.duration_ms, first[2]!.duration_ms)).toBeLessThan(first[0]!.duration_ms);
      // The spent worker's successor starts in the background; once it is up, it takes the calls.
      await new Promise((r) => setTimeout(r, 1500));
      const next = await call(3);
      expect(next.result).toMatchObject({ calls: 1 });
      expect(next.result.pid).not.toBe(first[0]!.result.pid);
      await expect(processEnded(first[0]!.result.pid)).resolves.toBe(true);
    } finally {
      await runner.stop();
    }
  });

  it('never shares a worker process between apps', async () => {
    const runner = startRunner();
    try {
      const a = await runner.handle(request('tools.py', 'ok', {}, { appId: 'app_a' }));
      const b = await runner.handle(request('tools.py', 'ok', {}, { appId: 'app_b' }));
      expect(a).toMatchObject({ ok: true, result: { calls: 1 } });
      expect(b).toMatchObject({ ok: true, result: { calls: 1 } });
      expect((a as { result: { pid: number } }).result.pid).not.toBe((b as { result: { pid: number } }).result.pid);
    } finally {
      await runner.stop();
    }
  });

  it('never runs a tool file that links out of its folder: the link is no part of the version', async () => {
    const runner = startRunner();
    try {
      const reply = await runner.handle({ ...request('link.mjs', 'x'), workflow_id: 'linked' });
      expect(reply).toMatchObject({
        ok: false,
        error: { code: 'tool_not_found', message: expect.stringMatching(/tool file link\.mjs not found/) },
      });
      expect(JSON.stringify(reply)).not.toContain('outside the workflow');
    } finally {
      await runner.stop();
    }
  });

  it("runs an edited tool file's new code on the next call", async () => {
    const runner = startRunner();
    const file = path.join(workflows.path, 'wf', 'counter.mjs');
    try {
      await expect(runner.handle(request('counter.mjs', 'version'))).resolves.toMatchObject({ ok: true, result: 1 });
      writeFileSync(file, 'export const version = () => 2;\n');
      const later = new Date(Date.now() + 5000);
      utimesSync(file, later, later);
      await expect(runner.handle(request('counter.mjs', 'version'))).resolves.toMatchObject({ ok: true, result: 2 });
    } finally {
      await runner.stop();
    }
  });

  it('lets a call in flight finish when it stops', async () => {
    const runner = startRunner();
    const slow = runner.handle(request('tools.mjs', 'slow'));
    await new Promise((r) => setTimeout(r, 100));
    await runner.stop();
    await expect(slow).resolves.toMatchObject({ ok: true, result: 'finished' });
  });

  it('stops every worker when it stops', async () => {
    const runner = startRunner();
    const reply = (await runner.handle(request('tools.mjs', 'ok'))) as { ok: true; result: { pid: number } };
    expect(runner.load.idleWorkers).toBeGreaterThan(0);
    await runner.stop();
    await expect(processEnded(reply.result.pid)).resolves.toBe(true);
  });
});

describe('ToolRunner admission', () => {
  it('gives a quiet app a slot while a busy app floods the runner', async () => {
    const runner = startRunner({ concurrency: 2, perApp: 1 });
    try {
      // Warm both apps' workers so that the timings compare calls, not process starts.
      await Promise.all([
        runner.handle(request('tools.py', 'ok', {}, { appId: 'flood' })),
        runner.handle(request('tools.py', 'ok', {}, { appId: 'quiet' })),
      ]);
      const finished: string[] = [];
      const track = (label: string, appId: string, fn: string) =>
        runner.handle(request('tools.mjs', fn, {}, { appId, timeoutMs: 300 })).then((r) => {
          finished.push(label);
          return r;
        });
      const flood = Array.from({ length: 5 }, (_, i) => track(`flood${i}`, 'flood', 'loop'));
      await new Promise((r) => setTimeout(r, 50));
      const quiet = await runner.handle(request('tools.py', 'ok', { n: 9 }, { appId: 'quiet' }));
      finished.push('quiet');
      expect(quiet).toMatchObject({ ok: true, result: { n: 9 } });
      // The flood's calls run one at a time (its share); the quiet app did not wait behind them.
      expect(finished.indexOf('quiet')).toBeLessThanOrEqual(1);
      await Promise.all(flood);
    } finally {
      await runner.stop();
    }
  }, 20_000);

  it('refuses calls beyond its queue with tool_busy, and after waiting its time', async () => {
    const runner = startRunner({ concurrency: 1, perApp: 1, queueLimit: 1 });
    try {
      const running = runner.handle(request('tools.mjs', 'loop', {}, { timeoutMs: 500 }));
      const waiting = runner.handle(request('tools.mjs', 'ok', {}, { timeoutMs: 100 }));
      const refused = await runner.handle(request('tools.mjs', 'ok', {}, { appId: 'app_b' }));
      expect(refused).toMatchObject({
        ok: false,
        error: { code: 'tool_busy', message: expect.stringMatching(/1 calls waiting/) },
      });
      await expect(waiting).resolves.toMatchObject({
        ok: false,
        error: { code: 'tool_busy', message: expect.stringMatching(/no tool slot was free for 100 ms/) },
      });
      await expect(running).resolves.toMatchObject({ ok: false, error: { code: 'timeout' } });
      await expect(runner.handle(request('tools.mjs', 'ok', { n: 2 }))).resolves.toMatchObject({
        ok: true,
        result: { n: 2 },
      });
    } finally {
      await runner.stop();
    }
  });
});
