// The runtime as `npm start` runs it: a separate process on the built code, configured only by its
// environment. What an operator sees: health, metrics, JSON logs free of secrets, clear config errors.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WsTestClient, makeTempDir, mintToken, startScriptedLlm, TEST_ISSUER, TEST_SECRET } from '@mozaiks/testing';
import { FIXTURE_WORKFLOWS, REPO_ROOT, SHIPPED_WORKFLOWS, TEST_API_KEY } from './harness';

const MAIN = path.join(REPO_ROOT, 'services/standalone/dist/main.js');

interface Started {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  stop: () => Promise<number | null>;
}

async function startProcess(env: Record<string, string>): Promise<Started> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does) first`);
  const cwd = makeTempDir('mozaiks-proc-');
  const child = spawn(process.execPath, [MAIN], {
    cwd: cwd.path,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PORT: '0',
      HOST: '127.0.0.1',
      WORKFLOWS_DIR: SHIPPED_WORKFLOWS,
      DATA_DIR: path.join(cwd.path, 'data'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  let url: string | undefined;
  while (!url) {
    const match = out.match(/"url":"(http:\/\/[^"]+)"/);
    if (match) url = match[1];
    else if (child.exitCode !== null) throw new Error(`runtime exited (${child.exitCode}): ${err}${out}`);
    else if (Date.now() > deadline) throw new Error(`runtime did not start: ${err}${out}`);
    else await new Promise((r) => setTimeout(r, 50));
  }
  // The dev token is printed after the listening line.
  if (!env.JWT_SECRET)
    while (!err.includes('npm run chat') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return {
    child,
    url: url,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      cwd.remove();
      return code;
    },
  };
}

describe('npm start with no configuration', () => {
  let rt: Started;
  beforeAll(async () => {
    rt = await startProcess({});
  });
  afterAll(async () => rt?.stop());

  it('serves /health and /metrics with the four metric families', async () => {
    const health = await fetch(`${rt.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${rt.url}/metrics`)).text();
    for (const family of [
      'workflow_executions_total',
      'workflow_duration_seconds',
      'token_usage_total',
      'websocket_connections_active',
    ]) {
      expect(metrics).toContain(`# TYPE ${family} `);
    }
  });

  it('prints a dev token that chats with the demo LLM endpoint, and says the endpoint is a demo', async () => {
    expect(rt.stdout()).toContain('DEMO LLM endpoint');
    const wsUrl = rt.stderr().match(/npm run chat -- "(ws:\/\/[^"]+)"/)?.[1];
    expect(wsUrl).toBeDefined();
    const client = await WsTestClient.connect(wsUrl!);
    const events = await client.exchange('what time is it?');
    expect(events.map((e) => e.type)).toEqual([
      'tool_call',
      'usage_delta',
      'tool_result',
      'agent_message',
      'usage_delta',
      'workflow_complete',
      'usage_update',
    ]);
    expect(events[2]).toMatchObject({ name: 'current_time', ok: true });
    expect(String(events[3]!.content)).toContain('demo model');
    expect(Number(events.at(-1)!.total_tokens)).toBeGreaterThan(0);
    const metrics = await (await fetch(`${rt.url}/metrics`)).text();
    expect(metrics).toMatch(
      /workflow_executions_total\{workflow_id="hello",workflow_version="[0-9a-f]{16}",status="completed"\} 1/,
    );
    expect(metrics).toMatch(/token_usage_total\{user_id="dev_user",app_id="dev_app"\} \d+/);
    expect(metrics).toMatch(/websocket_connections_active 1/);
    await client.close();
  });

  it("chats through the printed `npm run chat` line: tool calls, reply and the run's usage as lines, no raw JSON; --usage adds a line per model call", async () => {
    const wsUrl = rt.stderr().match(/npm run chat -- "(ws:\/\/[^"]+)"/)![1]!;
    const chat = (extra: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn('npm', ['run', '--silent', 'chat', '--', wsUrl, ...extra], {
          cwd: REPO_ROOT,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin.end('what time is it?\n');
      });
    const plain = await chat([]);
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    const lines = plain.stdout.trimEnd().split('\n');
    expect(lines.filter((l) => l.trimStart().startsWith('{'))).toEqual([]);
    expect(lines).toEqual([
      '  → current_time({})',
      expect.stringMatching(/^ {2}← current_time: \{"time_zone":"UTC","now":".+"\}$/),
      expect.stringMatching(/^Assistant: The tool answered .+ demo model/),
      expect.stringMatching(/^ {2}\(\d+ tokens, \$\d+\.\d{6}\)$/),
    ]);
    const detailed = await chat(['--usage']);
    expect(detailed).toMatchObject({ code: 0, stderr: '' });
    expect(
      detailed.stdout
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('  · ')),
    ).toEqual([
      expect.stringMatching(/^ {2}· Assistant \(gpt-4o-mini\): \d+ tokens, \d+ ms$/),
      expect.stringMatching(/^ {2}· Assistant \(gpt-4o-mini\): \d+ tokens, \d+ ms$/),
    ]);
  });
});

describe('npm start configured for production', () => {
  it("logs JSON lines with the guide's fields and never a token, secret or API key", async () => {
    const llm = await startScriptedLlm();
    llm.setFallback({ content: 'hi', usage: { prompt_tokens: 1, completion_tokens: 1 } });
    const rt = await startProcess({
      OPENAI_API_KEY: TEST_API_KEY,
      OPENAI_API_BASE: llm.url,
      JWT_SECRET: TEST_SECRET,
      JWT_ISSUER: TEST_ISSUER,
      LOG_LEVEL: 'DEBUG',
    });
    try {
      const token = await mintToken();
      const client = await WsTestClient.connect(`${rt.url.replace('http', 'ws')}/ws/chat?token=${token}`);
      await client.exchange('I want to onboard a new customer');
      await client.close();
      // A refused token is logged too, without the token.
      const bad = await mintToken({ expiresIn: -10 });
      expect((await WsTestClient.handshakeStatus(`${rt.url.replace('http', 'ws')}/ws/chat?token=${bad}`)).status).toBe(
        401,
      );
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      expect(await rt.stop()).toBe(0);
      await llm.close();
    }
    const lines = rt
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      expect(line).toEqual(
        expect.objectContaining({
          timestamp: expect.any(String),
          level: expect.any(String),
          message: expect.any(String),
        }),
      );
    }
    const started = lines.find((l) => l.message === 'workflow execution started');
    expect(started).toMatchObject({
      level: 'INFO',
      user_id: 'user_123',
      app_id: 'app_456',
      workflow_id: 'onboarding_flow',
      chat_id: 'chat_789',
    });
    expect(lines.some((l) => l.message === 'launch token refused' && l.reason === 'token expired')).toBe(true);
    const everything = rt.stdout() + rt.stderr();
    expect(everything).not.toContain(TEST_API_KEY);
    expect(everything).not.toContain(TEST_SECRET);
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
  });

  it('refuses to start on bad configuration, naming every bad variable', async () => {
    const cwd = makeTempDir('mozaiks-proc-');
    const child = spawn(process.execPath, [MAIN], {
      cwd: cwd.path,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        OPENAI_API_BASE: 'not a url',
        JWT_ALGORITHMS: 'RS256',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    cwd.remove();
    expect(code).toBe(1);
    for (const name of ['PORT', 'LOG_LEVEL', 'OPENAI_API_BASE', 'JWT_ALGORITHMS']) expect(err).toContain(`${name}:`);
  });

  it.each([
    ['standalone', MAIN],
    ['executor', path.join(REPO_ROOT, 'services/executor/dist/main.js')],
  ])(
    '%s: a data folder that cannot be made stops the start with one line naming the path and the cause',
    async (_name, main) => {
      const cwd = makeTempDir('mozaiks-proc-');
      // A folder under a file: no user, root included, can create it.
      writeFileSync(path.join(cwd.path, 'a-file'), 'x');
      const dataDir = path.join(cwd.path, 'a-file', 'data');
      const child = spawn(process.execPath, [main], {
        cwd: cwd.path,
        env: {
          PATH: process.env.PATH ?? '',
          DATA_DIR: dataDir,
          JWT_SECRET: TEST_SECRET,
          NATS_URL: 'nats://127.0.0.1:1',
          PORT: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      cwd.remove();
      expect(code).not.toBe(0);
      const lines = err.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(path.join(dataDir, 'mozaiks.sqlite'));
      expect(lines[0]).toContain('ENOTDIR');
    },
  );

  it("standalone: a read-only data folder stops the start naming the operating system's reason (EACCES: permission denied)", async () => {
    const cwd = makeTempDir('mozaiks-proc-');
    const dataDir = path.join(cwd.path, 'data');
    mkdirSync(dataDir);
    // Root writes anywhere: the runtime runs as an unprivileged user, as it does in its image.
    chmodSync(cwd.path, 0o755);
    chmodSync(dataDir, 0o555);
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const child = spawn(process.execPath, [MAIN], {
      cwd: cwd.path,
      ...asUser,
      env: {
        PATH: process.env.PATH ?? '',
        DATA_DIR: dataDir,
        WORKFLOWS_DIR: SHIPPED_WORKFLOWS,
        JWT_SECRET: TEST_SECRET,
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    cwd.remove();
    expect(code).not.toBe(0);
    const lines = err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path.join(dataDir, 'mozaiks.sqlite'));
    expect(lines[0]).toContain(`the folder ${dataDir} cannot be written: EACCES: permission denied`);
    expect(lines[0]).not.toContain('SQLITE_CANTOPEN');
  });

  it.each(['gateway', 'executor', 'tool-runner', 'usage-emitter'])(
    'refuses to start the %s service without NATS_URL, saying so',
    async (service) => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, `services/${service}/dist/main.js`)], {
        env: { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_SECRET },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(err).toContain(`NATS_URL: required by the ${service} service`);
    },
  );

  it('runs a workflow whose agent is a custom TypeScript class extending ConversableAgent', async () => {
    const llm = await startScriptedLlm();
    llm.setFallback({ content: 'Revenue grew 12%.', usage: { prompt_tokens: 4, completion_tokens: 4 } });
    const rt = await startProcess({
      OPENAI_API_KEY: TEST_API_KEY,
      OPENAI_API_BASE: llm.url,
      JWT_SECRET: TEST_SECRET,
      JWT_ISSUER: TEST_ISSUER,
      WORKFLOWS_DIR: FIXTURE_WORKFLOWS,
    });
    try {
      const client = await WsTestClient.connect(
        `${rt.url.replace('http', 'ws')}/ws/chat?token=${await mintToken({ claims: { workflow_id: 'analyst', chat_id: 'chat_analyst' } })}`,
      );
      const events = await client.exchange('How did revenue do?');
      expect(events.find((e) => e.type === 'agent_message')).toMatchObject({
        agent: 'Analyst',
        content: '[analyst] Revenue grew 12%.',
      });
      expect(String(llm.requests[0]!.messages[0]!.content)).toBe('You analyse data.\n\nAlways cite your numbers.');
      await client.close();
    } finally {
      await rt.stop();
      await llm.close();
    }
  });
});
