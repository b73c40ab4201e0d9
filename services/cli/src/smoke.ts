// `mozaiks smoke`: one chat turn through a running gateway, as a user would take it, for checking
// a deployment (the Helm chart's `helm test`, a compose stack, a canary). Mints its own token with
// JWT_SECRET, sends one message, and succeeds when the run completes with an agent's reply.
import { WebSocket } from 'ws';
import { UsageError, parseFlags } from './flags.js';
import { mintDevToken } from './token.js';

export interface SmokeResult {
  ok: boolean;
  /** What happened, one line per step, for the operator. */
  lines: string[];
}

/** Runs the turn that `args` describe against `--url` (the gateway's base URL, http(s) or ws(s)). */
export async function smokeTest(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<SmokeResult> {
  const values = parseFlags(args, {
    url: { type: 'string' },
    workflow: { type: 'string', default: 'hello' },
    app: { type: 'string', default: 'smoke_test' },
    message: { type: 'string', default: 'Hello from mozaiks smoke' },
    timeout: { type: 'string', default: '60' },
  });
  if (!values.url) throw new UsageError('--url: required (the gateway, for example http://mozaiks-gateway:80)');
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0)) throw new UsageError(`--timeout: must be a number of seconds, got "${values.timeout}"`);
  const token = await mintDevToken(
    ['--workflow', values.workflow, '--app', values.app, '--user', 'smoke', '--ttl', String(Math.ceil(timeoutS) + 60)],
    env,
  );
  const base = values.url.replace(/^http/, 'ws').replace(/\/+$/, '');
  const lines: string[] = [];
  return new Promise<SmokeResult>((resolve) => {
    const started = Date.now();
    const socket = new WebSocket(`${base}/ws/chat?token=${encodeURIComponent(token)}`);
    let replied = false;
    const finish = (ok: boolean, line: string) => {
      clearTimeout(timer);
      lines.push(line);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.close(1000);
      resolve({ ok, lines });
    };
    const timer = setTimeout(() => finish(false, `no completed run within ${timeoutS} s`), timeoutS * 1000);
    socket.once('unexpected-response', (_req, res) =>
      finish(false, `the gateway refused the connection: HTTP ${res.statusCode}`),
    );
    socket.once('error', (error) => finish(false, `cannot reach ${base}: ${error.message}`));
    socket.once('open', () => {
      lines.push(`connected to ${base} (workflow ${values.workflow})`);
      socket.send(JSON.stringify({ type: 'user_message', content: values.message }));
    });
    socket.on('close', (code, reason) => finish(false, `the gateway closed the socket: ${code} ${reason.toString()}`));
    socket.on('message', (data) => {
      const event = JSON.parse(data.toString()) as {
        type: string;
        agent?: string;
        content?: string;
        status?: string;
        reason?: string;
        message?: string;
        code?: string;
      };
      if (event.type === 'agent_message') {
        replied = true;
        lines.push(`${event.agent}: ${String(event.content).slice(0, 200)}`);
      } else if (event.type === 'error') {
        lines.push(`error ${event.code}: ${event.message}`);
      } else if (event.type === 'workflow_complete') {
        const ms = Date.now() - started;
        if (event.status === 'completed' && replied) finish(true, `run completed in ${ms} ms`);
        else finish(false, `run ${event.status} (${event.reason})${replied ? '' : ' without a reply'}`);
      }
    });
  });
}
