// One warm worker process: runs a workflow's tool calls one at a time over a line-framed JSON
// channel (requests on its fd 3, outcomes on its fd 4). Whatever the tool does, a call ends in a
// ToolOutcome; a worker that timed out, crashed or overflowed is killed and never reused.
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ToolFailure } from '@mozaiks/protocol';
import { MIN_SECRET_LENGTH, scrubSecrets } from '@mozaiks/telemetry';
import type { WorkerCommand } from './sandbox.js';

/** Scheduling priority of workers (0 is normal, 19 the lowest). */
const WORKER_NICENESS = 10;

export type ToolOutcome =
  { ok: true; result: unknown; variables?: Record<string, unknown> } | { ok: false; error: ToolFailure };

export interface WorkerLimits {
  /** Bytes a call may print to stdout and stderr before the worker is stopped. */
  outputBytes: number;
  /** Bytes of JSON a call may return. */
  resultBytes: number;
}

export interface WorkerCall {
  /** Absolute path of the tool file. */
  file: string;
  /** How the tool is named in messages (`workflow/file.py`). */
  display: string;
  function: string;
  args: Record<string, unknown>;
  context: Record<string, unknown>;
  /** The chat's context variables, for a function that takes them (and a hook's agent). */
  variables?: Record<string, unknown>;
  /** The function is a hook, called the Python runtime's way with views made from `args`. */
  hook?: string;
  timeoutMs: number;
}

interface PendingCall {
  id: number;
  call: WorkerCall;
  resolve: (outcome: ToolOutcome) => void;
  timer: NodeJS.Timeout;
}

export class ToolWorker {
  /** Calls this worker has started. */
  calls = 0;
  /** When the worker last finished a call (ms since epoch). */
  lastUsed = Date.now();
  /** Set once the worker is dead or doomed; it takes no more calls. */
  retired = false;
  /** Set once the worker has loaded its host and can take a call at once. */
  isReady = false;

  private readonly child: ChildProcess;
  /** Values of the worker's variables, kept out of error messages. */
  private readonly secrets: string[];
  private readonly requests: Writable;
  private readonly ready: Promise<ToolFailure | undefined>;
  private pending: PendingCall | undefined;
  private nextId = 1;
  private reply = '';
  private printed = 0;
  private tail = '';

  constructor(
    readonly key: string,
    command: WorkerCommand,
    private readonly limits: WorkerLimits,
  ) {
    this.secrets = Object.values(command.env).filter((value) => value.length >= MIN_SECRET_LENGTH);
    // Its own process group, so that killing the worker takes anything it managed to start along.
    this.child = spawn(command.command, command.args, {
      cwd: command.cwd,
      env: command.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    // Below the runner's own priority: a tool spinning on every core cannot starve the runner of
    // the CPU it needs to answer, time out and kill it.
    if (this.child.pid !== undefined) {
      try {
        setPriority(this.child.pid, WORKER_NICENESS);
      } catch {
        // A platform that refuses changes nothing else.
      }
    }
    this.requests = this.child.stdio[3] as Writable;
    this.requests.on('error', () => undefined);
    this.watchOutput();
    let markReady: (failure: ToolFailure | undefined) => void = () => undefined;
    this.ready = new Promise((resolve) => (markReady = resolve));
    this.readReplies(markReady);
    this.child.on('error', (error) => {
      const failure = {
        code: 'tool_start_failed',
        message: `could not start the tool worker (${command.command}): ${error.message}`,
      };
      markReady(failure);
      this.fail(failure);
    });
    this.child.on('close', (code, signal) => {
      this.retired = true;
      const failure = this.exitFailure(code, signal);
      if (!this.isReady)
        markReady({
          code: 'tool_start_failed',
          message: `the tool worker stopped while starting (${signal ?? `code ${code}`})${this.lastLines()}`,
        });
      this.fail(failure);
    });
  }

  /** Counts what the tool prints (keeping its last lines for errors); past the limit the call fails. */
  private watchOutput(): void {
    const onOutput = (chunk: Buffer) => {
      this.printed += chunk.length;
      this.tail = (this.tail + chunk.toString('utf8')).slice(-4000);
      if (this.printed > this.limits.outputBytes) {
        this.fail({
          code: 'output_limit',
          message: `${this.describeCall()} printed more than ${this.limits.outputBytes} bytes`,
        });
      }
    };
    this.child.stdout!.on('data', onOutput);
    this.child.stderr!.on('data', onOutput);
  }

  /** Reads the worker's replies, a line each: the first says it is ready, each later one answers the call. */
  private readReplies(markReady: (failure: ToolFailure | undefined) => void): void {
    const replies = this.child.stdio[4] as Readable;
    // Decoded as a stream, so a character split between two chunks arrives whole.
    replies.setEncoding('utf8');
    replies.on('data', (chunk: string) => {
      this.reply += chunk;
      let newline: number;
      while ((newline = this.reply.indexOf('\n')) >= 0) {
        const line = this.reply.slice(0, newline);
        this.reply = this.reply.slice(newline + 1);
        if (!this.isReady) {
          this.isReady = true;
          markReady(undefined);
        } else this.onReply(line);
      }
      if (this.reply.length > this.limits.resultBytes) {
        this.fail({
          code: 'result_limit',
          message: `${this.describeCall()} returned more than ${this.limits.resultBytes} bytes`,
        });
      }
    });
  }

  /** The operating system's process id, for tests and logs. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the worker may take another call. */
  get idle(): boolean {
    return !this.retired && this.pending === undefined;
  }

  /** Resolves once the worker has loaded its host, or with why it could not start. */
  started(): Promise<ToolFailure | undefined> {
    return this.ready;
  }

  /** Runs one call; the worker must be idle. */
  async run(call: WorkerCall): Promise<ToolOutcome> {
    if (!this.idle) throw new Error('a tool worker runs one call at a time');
    this.calls += 1;
    this.printed = 0;
    this.tail = '';
    const id = this.nextId++;
    const outcome = new Promise<ToolOutcome>((resolve) => {
      const timer = setTimeout(
        () =>
          this.fail({
            code: 'timeout',
            message: `${call.display} ${call.function} did not finish within ${call.timeoutMs} ms`,
          }),
        call.timeoutMs,
      );
      this.pending = { id, call, resolve, timer };
    });
    const startFailure = await this.ready;
    if (startFailure) this.fail(startFailure);
    else if (this.pending?.id === id) {
      const { file, display, args, context, variables, hook } = call;
      this.requests.write(
        `${JSON.stringify({ id, file, display, function: call.function, args, context, ...(variables ? { variables } : {}), ...(hook ? { hook } : {}) })}\n`,
      );
    }
    return outcome;
  }

  /** Stops the worker and everything it started. */
  kill(): void {
    this.retired = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  private onReply(line: string): void {
    const pending = this.pending;
    let parsed: { id?: number; variables?: unknown } & Partial<ToolOutcome>;
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      this.fail({ code: 'invalid_result', message: `${this.describeCall()} returned output that is not JSON` });
      return;
    }
    if (!pending || parsed.id !== pending.id) return;
    const variables =
      typeof parsed.variables === 'object' && parsed.variables !== null && !Array.isArray(parsed.variables)
        ? (parsed.variables as Record<string, unknown>)
        : undefined;
    this.settle(
      parsed.ok === true
        ? { ok: true, result: parsed.result, ...(variables ? { variables } : {}) }
        : { ok: false, error: (parsed as { error: ToolFailure }).error },
    );
  }

  /** Ends the pending call with `failure` and retires the worker: its state can no longer be trusted. */
  private fail(failure: ToolFailure): void {
    this.kill();
    this.settle({ ok: false, error: failure });
  }

  private settle(outcome: ToolOutcome): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    this.lastUsed = Date.now();
    // An error message is made of what the tool threw or printed, and it reaches the client and
    // the logs: the values of the tool's own variables (its API keys) are taken out of it.
    pending.resolve(
      outcome.ok
        ? outcome
        : {
            ok: false,
            error: { code: outcome.error.code, message: scrubSecrets(String(outcome.error.message), this.secrets) },
          },
    );
  }

  private exitFailure(code: number | null, signal: NodeJS.Signals | null): ToolFailure {
    const what = this.describeCall();
    if (/heap out of memory|Reached heap limit|MemoryError|Cannot allocate memory|std::bad_alloc/.test(this.tail)) {
      return { code: 'memory_limit', message: `${what} ran out of memory` };
    }
    if (code !== null)
      return {
        code: 'tool_exited',
        message: `${what} ended its process (exit code ${code}) instead of returning${this.lastLines()}`,
      };
    return { code: 'tool_crashed', message: `${what} crashed (${signal})${this.lastLines()}` };
  }

  private describeCall(): string {
    const call = this.pending?.call;
    return call ? `${call.display} ${call.function}` : 'the tool worker';
  }

  private lastLines(): string {
    const last = this.tail.trim().split('\n').slice(-3).join(' | ').slice(-500);
    return last ? `: ${last}` : '';
  }
}
