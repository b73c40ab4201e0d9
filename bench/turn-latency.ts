// bench/turn-latency: the runtime's overhead per agent turn (user_message in → agent_message out,
// with an LLM endpoint that answers at once), standalone and distributed, next to the floor
// measured in the same run: one WebSocket echo + one NATS request/reply + one HTTP call to the
// same endpoint. Every part runs in its own process. Prints figures; never fails on timing.
//
//   npm run bench:turn-latency            (TURNS=500 to change the sample size;
//                                          PROFILE_DIR=/tmp/prof writes each distributed service's CPU profile there)
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { WebSocket } from 'ws';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, makeTempDir, mintToken, startNatsServer } from '@mozaiks/testing';

const ROOT = path.resolve(__dirname, '..');
const TURNS = Number(process.env.TURNS ?? 300);
const WARMUP = 30;
const PROFILE_DIR = process.env.PROFILE_DIR;

interface Child {
  proc: ChildProcess;
  output: string;
}

function run(args: string[], env: Record<string, string> = {}): Child {
  const child: Child = { proc: spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT }), output: '' };
  child.proc.stdout!.on('data', (c: Buffer) => (child.output += c.toString()));
  child.proc.stderr!.on('data', (c: Buffer) => (child.output += c.toString()));
  return child;
}

async function waitFor(child: Child, pattern: RegExp): Promise<RegExpMatchArray> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const match = child.output.match(pattern);
    if (match) return match;
    if (child.proc.exitCode !== null || Date.now() > deadline) throw new Error(`process did not start:\n${child.output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function percentiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

async function measure(n: number, once: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < WARMUP; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    samples.push(performance.now() - t);
  }
  return percentiles(samples);
}

/** Turns per chat: a chat's whole history goes to the model each turn, so chats are kept short. */
const TURNS_PER_CHAT = 10;

/** Measures turns over fresh chats of TURNS_PER_CHAT turns each; connecting is not timed. */
async function measureTurns(urlFor: (chat: string) => Promise<string>, label: string): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let chat = 0; samples.length < TURNS + WARMUP; chat++) {
    const client = await turnClient(await urlFor(`${label}_${chat}`));
    for (let i = 0; i < TURNS_PER_CHAT && samples.length < TURNS + WARMUP; i++) samples.push(await client.turn());
    client.close();
  }
  return percentiles(samples.slice(WARMUP));
}

/**
 * A socket that sends a user message and resolves on the agent's reply. The next message goes
 * only after the run has ended (its usage_update), as a person answers after reading: the turn
 * measured is not queued behind the end of the one before.
 */
async function turnClient(url: string): Promise<{ turn: () => Promise<number>; close: () => void }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => (socket.once('open', resolve), socket.once('error', reject)));
  let replied: (() => void) | undefined;
  let ended: Promise<void> = Promise.resolve();
  let endRun: (() => void) | undefined;
  socket.on('message', (data) => {
    const type = (JSON.parse(data.toString()) as { type: string }).type;
    if (type === 'agent_message') replied?.();
    if (type === 'usage_update') endRun?.();
  });
  return {
    turn: async () => {
      await ended;
      ended = new Promise<void>((resolve) => (endRun = resolve));
      const t = performance.now();
      await new Promise<void>((resolve) => {
        replied = resolve;
        socket.send(JSON.stringify({ type: 'user_message', content: 'ping' }));
      });
      return performance.now() - t;
    },
    close: () => socket.close(),
  };
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

/** CPU time (user + system) a process has used, in ms; Linux only, else NaN. */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

async function main(): Promise<void> {
  const children: Child[] = [];
  const nats = await startNatsServer();
  const data = makeTempDir('mozaiks-bench-');
  try {
    // The LLM endpoint, answering at once.
    const llm = run(['-e', `require('@mozaiks/llm').startChatCompletionsServer(() => ({ content: 'pong', usage: { prompt_tokens: 5, completion_tokens: 1 } })).then((s) => console.log('URL ' + s.url))`]);
    children.push(llm);
    const llmUrl = (await waitFor(llm, /URL (\S+)/))[1]!;

    // Floor: a WebSocket echo, a NATS request/reply, an HTTP call to the endpoint.
    const echo = run(['-e', `const { WebSocketServer } = require('ws'); const s = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => console.log('PORT ' + s.address().port)); s.on('connection', (c) => c.on('message', (m) => c.send(m)));`]);
    children.push(echo);
    const echoPort = (await waitFor(echo, /PORT (\d+)/))[1]!;
    const responder = run(['-e', `require('@nats-io/transport-node').connect({ servers: '${nats.url}' }).then((nc) => { nc.subscribe('bench.echo', { callback: (_e, m) => m.respond(m.data) }); nc.flush().then(() => console.log('READY')); })`]);
    children.push(responder);
    await waitFor(responder, /READY/);

    const ws = new WebSocket(`ws://127.0.0.1:${echoPort}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const wsEcho = await measure(TURNS, () => new Promise<void>((resolve) => (ws.once('message', () => resolve()), ws.send('{"type":"ping"}'))));
    ws.close();
    const nc = await connect({ servers: nats.url });
    const natsRequest = await measure(TURNS, async () => void (await nc.request('bench.echo', 'ping', { timeout: 5000 })));
    await nc.close();
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    const httpCall = await measure(TURNS, async () => void (await (await fetch(`${llmUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer k' }, body })).json()));
    const floor = { p50: wsEcho.p50 + natsRequest.p50 + httpCall.p50, p99: wsEcho.p99 + natsRequest.p99 + httpCall.p99 };

    const env = {
      OPENAI_API_KEY: 'bench-key', OPENAI_API_BASE: llmUrl, JWT_SECRET: TEST_SECRET, JWT_ISSUER: TEST_ISSUER, JWT_AUDIENCE: TEST_AUDIENCE,
      WORKFLOWS_DIR: path.join(__dirname, 'workflows'), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', LLM_MAX_RETRIES: '0',
    };
    const token = (chat: string) => mintToken({ claims: { workflow_id: 'bench_echo', chat_id: chat } });

    // Standalone: one process.
    const standalone = run(['services/standalone/dist/main.js'], { ...env, LOG_LEVEL: 'info', DATA_DIR: path.join(data.path, 'standalone') });
    children.push(standalone);
    const standalonePort = (await waitFor(standalone, /"url":"http:\/\/127\.0\.0\.1:(\d+)"/))[1]!;
    const standaloneTurn = await measureTurns(async (chat) => `ws://127.0.0.1:${standalonePort}/ws/chat?token=${await token(chat)}`, 'standalone');
    standalone.proc.kill('SIGTERM');

    // Distributed: gateway, executor, tool-runner, usage-emitter processes on NATS.
    const distributedEnv = { ...env, NATS_URL: nats.url, DATA_DIR: path.join(data.path, 'distributed') };
    const gatewayProfile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, '--cpu-prof-name=gateway.cpuprofile'] : [];
    const gateway = run([...gatewayProfile, 'services/gateway/dist/main.js'], { ...distributedEnv, LOG_LEVEL: 'info' });
    children.push(gateway);
    for (const service of ['executor', 'tool-runner', 'usage-emitter']) {
      const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${service}.cpuprofile`] : [];
      const child = run([...profile, `services/${service}/dist/main.js`], { ...distributedEnv, LOG_LEVEL: 'info' });
      children.push(child);
      await waitFor(child, /"ops_port":\d+/);
    }
    const gatewayPort = (await waitFor(gateway, /"url":"http:\/\/127\.0\.0\.1:(\d+)"/))[1]!;
    const services = children.slice(-4);
    const cpuBefore = services.map((c) => cpuMs(c.proc.pid));
    const distributedTurn = await measureTurns(async (chat) => `ws://127.0.0.1:${gatewayPort}/ws/chat?token=${await token(chat)}`, 'distributed');

    const cpuPerTurn = services.map((c, i) => (cpuMs(c.proc.pid) - cpuBefore[i]!) / (TURNS + WARMUP));
    const rows: Array<[string, { p50: number; p99: number }]> = [
      ['floor: WebSocket echo', wsEcho],
      ['floor: NATS request/reply', natsRequest],
      ['floor: HTTP call to the LLM endpoint', httpCall],
      ['floor: sum', floor],
      ['standalone turn', standaloneTurn],
      ['distributed turn', distributedTurn],
    ];
    console.log(`turn latency, ${TURNS} sequential turns each (after ${WARMUP} warm-up; runtime turns over chats of ${TURNS_PER_CHAT} turns, each sent once the previous run ended), every part in its own process`);
    for (const [name, r] of rows) console.log(`${name.padEnd(40)} p50 ${ms(r.p50).padStart(10)}   p99 ${ms(r.p99).padStart(10)}`);
    console.log(`standalone  p50 = ${(standaloneTurn.p50 / floor.p50).toFixed(2)} x floor, overhead ${ms(standaloneTurn.p50 - floor.p50)}`);
    console.log(`distributed CPU per turn: ${['gateway', 'executor', 'tool-runner', 'usage-emitter'].map((n, i) => `${n} ${ms(cpuPerTurn[i]!)}`).join(', ')}`);
    console.log(`distributed p50 = ${(distributedTurn.p50 / floor.p50).toFixed(2)} x floor, overhead ${ms(distributedTurn.p50 - floor.p50)} (goal: within 3 x)`);
    if (PROFILE_DIR) {
      // Profiles are written when a process exits on its own: stop the services gracefully.
      await Promise.all(services.map((c) => new Promise<void>((resolve) => (c.proc.once('exit', () => resolve()), c.proc.kill('SIGTERM')))));
      console.log(`CPU profiles in ${PROFILE_DIR} (open them in Chrome DevTools' Performance panel)`);
    }
  } finally {
    for (const child of children) child.proc.kill('SIGKILL');
    await nats.dispose();
    data.remove();
  }
}

void main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
