// The tool-runner: answers tool requests from the bus by running the workflow's tool code in
// sandboxed worker processes, warm per app, workflow and language, admitted fairly between apps.
// The standalone runtime and the tool-runner service both use this class.
import type { Subscription } from '@mozaiks/bus';
import { FairGate, GateRefusedError, errorMessage } from '@mozaiks/common';
import { ToolRequest, describeIssues } from '@mozaiks/protocol';
import type { ToolReply } from '@mozaiks/protocol';
import { SpanKind, startSpan } from '@mozaiks/telemetry';
import { WorkflowVersions, reservedToolEnv } from '@mozaiks/workflows';
import type { VersionedWorkflow } from '@mozaiks/workflows';
import { busVersionSource } from './bus-version-source.js';
import { toolRunnerMetrics } from './metrics.js';
import type { ToolRunnerMetrics } from './metrics.js';
import { ToolSandbox } from './sandbox.js';
import type { ToolLanguage } from './sandbox.js';
import { failure, resolveCall } from './tool-resolution.js';
import type { ResolvedCall } from './tool-resolution.js';
import { toolRunnerOptionsWithDefaults } from './tool-runner-options.js';
import type { ToolRunnerOptions, ToolRunnerOptionsWithDefaults } from './tool-runner-options.js';
import { ToolWorker } from './tool-worker.js';
import type { ToolOutcome } from './tool-worker.js';
import { WorkerPool } from './worker-pool.js';

/** Bytes of stdout+stderr one call may print before its worker is stopped. */
export const MAX_TOOL_OUTPUT_BYTES = 1024 * 1024;
/** Bytes of JSON one call may return. */
export const MAX_TOOL_RESULT_BYTES = 8 * 1024 * 1024;
/** How long a call's reply is kept for a repeated request. */
const TOOL_RESULT_KEPT_MS = 15 * 60_000;

interface WorkerSpec {
  appId: string;
  workflowId: string;
  language: ToolLanguage;
  workflowDir: string;
  env: string[];
}

export class ToolRunner {
  private subscription: Subscription | undefined;
  private readonly versions: WorkflowVersions;
  private readonly sandbox: ToolSandbox;
  /** Slots shared in turn between apps (and their users), each app within its share; a bounded line. */
  private readonly slots: FairGate;
  private readonly pool: WorkerPool;
  /** What each worker key starts: its app, workflow, language and declared variables. */
  private readonly workers = new Map<string, WorkerSpec>();
  private readonly warnedMissing = new Set<string>();
  private readonly inflight = new Set<Promise<ToolReply>>();
  private readonly metrics: ToolRunnerMetrics | undefined;

  private readonly options: ToolRunnerOptionsWithDefaults;

  constructor(options: ToolRunnerOptions) {
    this.options = toolRunnerOptionsWithDefaults(options);
    const { limits } = this.options;
    this.versions = new WorkflowVersions({
      workflowsDir: options.workflowsDir,
      source: busVersionSource(options.bus, options.subjects),
      // A request without a version (an executor older than versions) runs the files as they are now.
      recheckMs: 0,
    });
    this.metrics = options.metrics ? toolRunnerMetrics(options.metrics) : undefined;
    this.sandbox = new ToolSandbox({ memoryMb: limits.memoryMb, python: options.python });
    const { concurrency, perApp, queueLimit } = limits;
    this.slots = new FairGate({ concurrency, perApp, queueLimit });
    this.pool = new WorkerPool({
      create: (key) => this.startWorker(key),
      maxCalls: limits.workerMaxCalls,
      idleMs: limits.workerIdleMs,
      maxIdle: limits.maxIdleWorkers,
    });
    for (const gap of this.sandbox.missing) options.logger.warn(`tool sandbox: missing ${gap}`);
  }

  /** Starts answering `<prefix>.tool.*.*` in the `tool-runner` queue group. */
  start(): void {
    this.subscription = this.options.bus.serve(
      this.options.subjects.allTools,
      (message) => this.traced(message.data, message.headers.traceparent),
      { queue: 'tool-runner' },
    );
  }

  /** Stops taking requests, lets the calls in flight finish (for the grace period at most), then stops every worker. */
  async stop(): Promise<void> {
    await this.subscription?.unsubscribe();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.shutdownGraceMs)));
    await Promise.race([Promise.allSettled([...this.inflight]), grace]);
    clearTimeout(timer);
    this.pool.close();
  }

  /** Workers alive and calls waiting, for tests and metrics. */
  get load(): { idleWorkers: number; busyWorkers: number; running: number; waiting: number } {
    const { idle, busy } = this.pool.size;
    return {
      idleWorkers: idle,
      busyWorkers: busy,
      running: this.slots.running(),
      waiting: this.slots.waiting,
    };
  }

  /** `handle` in an `execute_tool` span (GenAI conventions), child of the executor's request. */
  private async traced(data: unknown, traceparent: string | undefined): Promise<ToolReply> {
    const request = data as Partial<ToolRequest> | undefined;
    const span = startSpan(`execute_tool ${String(request?.function ?? 'unknown')}`, {
      ...(traceparent ? { parent: traceparent } : {}),
      kind: SpanKind.SERVER,
      attributes: {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': String(request?.function ?? ''),
        'mozaiks.app_id': String(request?.app_id ?? ''),
        'mozaiks.chat_id': String(request?.chat_id ?? ''),
        'mozaiks.workflow_id': String(request?.workflow_id ?? ''),
        ...(request?.workflow_version ? { 'mozaiks.workflow_version': String(request.workflow_version) } : {}),
      },
    });
    const result = await this.handle(data);
    if (result.ok) span.end();
    else span.fail(new Error(`${result.error.code}: ${result.error.message}`));
    return result;
  }

  /**
   * Runs one request; every failure is a `{ ok: false }` reply. A request naming a call already
   * made (sent again after its reply was lost) gets that call's reply: the tool runs once.
   */
  handle(data: unknown): Promise<ToolReply> {
    const parsed = ToolRequest.safeParse(data);
    const callId = parsed.success ? parsed.data.call_id : undefined;
    const call = callId
      ? this.options.bus
          .once(
            `tool:${parsed.data!.app_id}:${parsed.data!.user_id}:${parsed.data!.chat_id}:${callId}`,
            () => this.answer(data),
            {
              ttlMs: TOOL_RESULT_KEPT_MS,
              // Waits as long as the first call may: its slot and its run.
              waitMs: 2 * parsed.data!.timeout_ms + 1000,
            },
          )
          .catch((error: unknown) =>
            reply(
              failure('tool_unavailable', `the call could not be matched with its first run: ${errorMessage(error)}`),
              performance.now(),
            ),
          )
      : this.answer(data);
    this.inflight.add(call);
    void call.finally(() => this.inflight.delete(call));
    return call;
  }

  private async answer(data: unknown): Promise<ToolReply> {
    const received = performance.now();
    const parsed = ToolRequest.safeParse(data);
    if (!parsed.success)
      return reply(failure('invalid_request', `invalid tool request: ${describeIssues(parsed.error)}`), received);
    const request = parsed.data;
    const log = this.options.logger.child({
      app_id: request.app_id,
      user_id: request.user_id,
      workflow_id: request.workflow_id,
      ...(request.workflow_version ? { workflow_version: request.workflow_version } : {}),
      chat_id: request.chat_id,
    });
    const workflow = await this.workflowOf(request);
    const resolved = 'error' in workflow ? workflow : resolveCall(workflow.definition, workflow.version, request);
    let outcome: ToolOutcome;
    if ('error' in resolved) outcome = resolved;
    else {
      try {
        // A call may wait for a slot as long as it may run, then it runs with its whole time.
        const admitted = this.slots.run(
          request.app_id,
          request.user_id,
          () => {
            this.observeLoad();
            return this.run(resolved);
          },
          { maxWaitMs: request.timeout_ms },
        );
        this.observeLoad();
        outcome = await admitted;
      } catch (error) {
        outcome =
          error instanceof GateRefusedError
            ? failure('tool_busy', busyMessage(error))
            : failure('tool_failed', String(error));
      }
      this.observeLoad();
    }
    const result = reply(outcome, received);
    this.metrics?.toolCalls.inc({
      workflow_id: request.workflow_id,
      outcome: outcome.ok ? 'ok' : outcome.error.code,
    });
    this.metrics?.toolDuration.observe({ workflow_id: request.workflow_id }, result.duration_ms / 1000);
    if (outcome.ok)
      log.debug({ tool: request.function, duration_ms: Math.round(result.duration_ms) }, 'tool call succeeded');
    else
      log.warn({ tool: request.function, code: outcome.error.code, error: outcome.error.message }, 'tool call failed');
    return result;
  }

  /** The version the request names (the chat's), else the current one; never other code than the chat's. */
  private async workflowOf(request: ToolRequest): Promise<VersionedWorkflow | ReturnType<typeof failure>> {
    const { workflow_id: id, workflow_version: version } = request;
    try {
      const found = version ? await this.versions.get(id, version) : await this.versions.current(id);
      return found ?? failure('tool_not_found', `workflow ${id} version ${version} is not stored`);
    } catch (error) {
      const reason = errorMessage(error)
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .join('; ');
      return failure(
        'tool_not_found',
        `workflow ${id}${version ? ` version ${version}` : ''} could not be loaded by the tool-runner: ${reason}`,
      );
    }
  }

  private observeLoad(): void {
    const metrics = this.metrics;
    if (!metrics) return;
    const load = this.load;
    metrics.toolCallsActive.set({ state: 'running' }, load.running);
    metrics.toolCallsActive.set({ state: 'waiting' }, load.waiting);
    metrics.toolWorkers.set({ state: 'idle' }, load.idleWorkers);
    metrics.toolWorkers.set({ state: 'busy' }, load.busyWorkers);
  }

  private async run(call: ResolvedCall): Promise<ToolOutcome> {
    const { request, tool } = call;
    const env = [...new Set(tool.env)].sort();
    // Warm workers per app (tenants share no process), workflow version, language and declared
    // variables: chats on different versions of a workflow run each their own version's code.
    const key = JSON.stringify([request.app_id, request.workflow_id, call.version, call.language, env]);
    if (!this.workers.has(key)) {
      this.workers.set(key, {
        appId: request.app_id,
        workflowId: request.workflow_id,
        language: call.language,
        workflowDir: call.workflowDir,
        env,
      });
    }
    return this.pool.run(key, {
      file: call.file,
      display: call.display,
      function: request.function,
      args: request.args,
      context: request.context,
      ...(request.variables && (tool.takes_context || request.hook) ? { variables: request.variables } : {}),
      ...(request.hook ? { hook: request.hook } : {}),
      timeoutMs: request.timeout_ms,
    });
  }

  /** Starts a worker for a key made by `run`. */
  private startWorker(key: string): ToolWorker {
    const spec = this.workers.get(key);
    if (!spec) throw new Error(`no tool worker is described for ${key}`);
    const env: Record<string, string> = {};
    for (const name of spec.env) {
      // The loader refuses these already; the check here holds even if a definition slipped by.
      if (reservedToolEnv(name)) continue;
      const value = this.options.toolEnv?.[name];
      if (value !== undefined) env[name] = value;
      else if (!this.warnedMissing.has(`${spec.workflowId}:${name}`)) {
        this.warnedMissing.add(`${spec.workflowId}:${name}`);
        this.options.logger.warn(
          { app_id: spec.appId, workflow_id: spec.workflowId, variable: name },
          'a tool declares a variable the tool-runner does not have',
        );
      }
    }
    return new ToolWorker(key, this.sandbox.command(spec.language, spec.workflowDir, env), {
      outputBytes: MAX_TOOL_OUTPUT_BYTES,
      resultBytes: MAX_TOOL_RESULT_BYTES,
    });
  }
}

function reply(outcome: ToolOutcome, received: number): ToolReply {
  const duration_ms = performance.now() - received;
  return outcome.ok
    ? {
        v: 1,
        ok: true,
        result: outcome.result,
        duration_ms,
        ...(outcome.variables ? { variables: outcome.variables } : {}),
      }
    : { v: 1, ok: false, error: outcome.error, duration_ms };
}

/** Why a call found no slot, in the words of a tool-runner. */
function busyMessage(refused: GateRefusedError): string {
  return refused.reason === 'full'
    ? `the tool-runner has ${refused.waiting} calls waiting, its limit; try again shortly`
    : `no tool slot was free for ${refused.waitedMs} ms (${refused.running} calls running, ${refused.waiting} waiting)`;
}
