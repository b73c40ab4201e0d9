// The tool-runner: answers tool requests from the bus by running the workflow's tool code out of
// process. The standalone runtime and the tool-runner service both use this class.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { Bus, Subscription } from '@mozaiks/bus';
import { ToolRequest, describeIssues } from '@mozaiks/protocol';
import type { Subjects, ToolReply } from '@mozaiks/protocol';
import type { Logger } from '@mozaiks/telemetry';
import { runToolProcess } from './tool-process.js';

/** The only variable a tool inherits; everything else of the runtime's environment stays out. */
const TOOL_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface ToolRunnerOptions {
  bus: Bus;
  subjects: Subjects;
  /** Folder holding one folder per workflow. */
  workflowsDir: string;
  logger: Logger;
}

export class ToolRunner {
  private subscription: Subscription | undefined;

  constructor(private readonly options: ToolRunnerOptions) {}

  /** Starts answering `<prefix>.tool.*.*` in the `tool-runner` queue group. */
  start(): void {
    this.subscription = this.options.bus.serve(this.options.subjects.allTools, (message) => this.handle(message.data), { queue: 'tool-runner' });
  }

  async stop(): Promise<void> {
    await this.subscription?.unsubscribe();
  }

  /** Runs one request; every failure is a `{ ok: false }` reply. */
  async handle(data: unknown): Promise<ToolReply> {
    const parsed = ToolRequest.safeParse(data);
    if (!parsed.success) return failure('invalid_request', `invalid tool request: ${describeIssues(parsed.error)}`);
    const request = parsed.data;
    const display = `${request.workflow_id}/${request.file}`;
    const file = this.resolveInside(request.workflow_id, request.file);
    if (!file) return failure('tool_not_found', `tool file ${display} not found in the workflow folder`);
    const log = this.options.logger.child({ app_id: request.app_id, user_id: request.user_id, workflow_id: request.workflow_id, chat_id: request.chat_id });
    const reply = await runToolProcess({
      file,
      display,
      function: request.function,
      args: request.args,
      context: request.context,
      timeoutMs: request.timeout_ms,
      env: { PATH: TOOL_PATH, LANG: 'C.UTF-8' },
    });
    if (reply.ok) log.debug({ tool: request.function, duration_ms: Math.round(reply.duration_ms) }, 'tool call succeeded');
    else log.warn({ tool: request.function, code: reply.error.code, error: reply.error.message }, 'tool call failed');
    return reply;
  }

  /** The real path of `file` if it lies inside the workflow's folder, following links. */
  private resolveInside(workflowId: string, file: string): string | undefined {
    try {
      const root = realpathSync(path.join(this.options.workflowsDir, workflowId));
      const full = realpathSync(path.join(root, file));
      return full.startsWith(root + path.sep) ? full : undefined;
    } catch {
      return undefined;
    }
  }
}

function failure(code: string, message: string): ToolReply {
  return { v: 1, ok: false, error: { code, message }, duration_ms: 0 };
}
