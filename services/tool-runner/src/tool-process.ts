// Runs one tool call in a fresh child process: scrubbed environment, wall-clock timeout, capped
// output. Whatever the tool does, the caller gets a ToolReply back, never an exception.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ToolFailure, ToolReply } from '@mozaiks/protocol';

const HOSTS_DIR = path.resolve(__dirname, '../hosts');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** Bytes of stdout+stderr a tool may print before it is stopped. */
export const MAX_TOOL_OUTPUT_BYTES = 1024 * 1024;
/** Bytes of result a tool may return. */
export const MAX_TOOL_RESULT_BYTES = 8 * 1024 * 1024;

export interface ToolProcessRequest {
  /** Absolute path of the tool file. */
  file: string;
  /** How the file is named in messages (`workflow/file.py`). */
  display: string;
  function: string;
  args: Record<string, unknown>;
  context: Record<string, unknown>;
  timeoutMs: number;
  /** The child's whole environment: nothing of the runtime's is inherited. */
  env: Record<string, string>;
}

function commandFor(file: string): { command: string; args: string[] } {
  if (file.endsWith('.py')) return { command: 'python3', args: ['-I', '-B', path.join(HOSTS_DIR, 'py-host.py')] };
  const host = path.join(HOSTS_DIR, 'js-host.mjs');
  if (file.endsWith('.ts')) return { command: process.execPath, args: ['--import', TSX_LOADER, host] };
  return { command: process.execPath, args: [host] };
}

export function runToolProcess(request: ToolProcessRequest): Promise<ToolReply> {
  const started = performance.now();
  const { command, args } = commandFor(request.file);
  return new Promise<ToolReply>((resolve) => {
    let settled = false;
    let output = 0;
    let tail = '';
    const result: Buffer[] = [];
    let resultBytes = 0;
    const finish = (outcome: { ok: true; result: unknown } | { ok: false; error: ToolFailure }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      resolve({ v: 1, ...outcome, duration_ms: performance.now() - started } as ToolReply);
    };
    const fail = (code: string, message: string) => finish({ ok: false, error: { code, message } });

    const child = spawn(command, args, {
      cwd: path.dirname(request.file),
      env: request.env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => fail('timeout', `${request.display} ${request.function} did not finish within ${request.timeoutMs} ms`), request.timeoutMs);

    const onOutput = (chunk: Buffer) => {
      output += chunk.length;
      tail = (tail + chunk.toString('utf8')).slice(-2000);
      if (output > MAX_TOOL_OUTPUT_BYTES) fail('output_limit', `${request.display} printed more than ${MAX_TOOL_OUTPUT_BYTES} bytes`);
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    const resultPipe = child.stdio[3] as NodeJS.ReadableStream;
    resultPipe.on('data', (chunk: Buffer) => {
      resultBytes += chunk.length;
      if (resultBytes > MAX_TOOL_RESULT_BYTES) fail('result_limit', `${request.display} returned more than ${MAX_TOOL_RESULT_BYTES} bytes`);
      else result.push(chunk);
    });
    child.on('error', (error) => fail('tool_start_failed', `could not start ${command} for ${request.display}: ${error.message}`));
    child.on('close', (code, signal) => {
      if (settled) return;
      const text = Buffer.concat(result).toString('utf8');
      if (text) {
        try {
          const outcome = JSON.parse(text) as { ok: true; result: unknown } | { ok: false; error: ToolFailure };
          finish(outcome);
          return;
        } catch {
          fail('invalid_result', `${request.display} returned output that is not JSON`);
          return;
        }
      }
      const last = tail.trim().split('\n').slice(-3).join(' | ').slice(-500);
      fail('tool_crashed', `${request.display} exited (${signal ?? `code ${code}`}) without a result${last ? `: ${last}` : ''}`);
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(JSON.stringify({ file: request.file, display: request.display, function: request.function, args: request.args, context: request.context }));
  });
}
