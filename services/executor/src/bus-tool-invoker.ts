// The engine's tool port on the bus: a tool call is a request to the tool-runners, sent again
// when the bus reconnects (or finds no tool-runner yet) with the same call id, so its side effect
// happens once. An unreachable tool-runner is the tool's failure, told to the model.
import { BusError } from '@mozaiks/bus';
import type { Bus } from '@mozaiks/bus';
import type { ToolInvocation, ToolInvoker, ToolOutcome } from '@mozaiks/engine';
import type { Subjects, ToolReply, ToolRequest } from '@mozaiks/protocol';
import { childTraceparent } from '@mozaiks/telemetry';
import type { ChatScope } from './run-journal.js';
import { errorMessage } from '@mozaiks/common';

/** How soon a tool request that found no tool-runner is sent again. */
const NO_RESPONDER_RETRY_MS = 250;

export class BusToolInvoker implements ToolInvoker {
  constructor(
    private readonly bus: Bus,
    private readonly subjects: Subjects,
    private readonly scope: ChatScope,
    private readonly runId: string,
    private readonly defaultTimeoutMs: number,
  ) {}

  async invoke({ tool, args, tool_call_id, variables, hook }: ToolInvocation): Promise<ToolOutcome> {
    const timeoutMs = tool.timeout_seconds ? tool.timeout_seconds * 1000 : this.defaultTimeoutMs;
    const request: ToolRequest = {
      v: 1,
      app_id: this.scope.tenant.app_id,
      user_id: this.scope.tenant.user_id,
      chat_id: this.scope.chatId,
      workflow_id: this.scope.workflowId,
      ...(this.scope.workflowVersion ? { workflow_version: this.scope.workflowVersion } : {}),
      file: tool.file,
      function: tool.function,
      args,
      context: this.scope.context,
      // The ids a Python tool reads from its context_variables, under the declared variables.
      ...(variables
        ? {
            variables: {
              chat_id: this.scope.chatId,
              app_id: this.scope.tenant.app_id,
              user_id: this.scope.tenant.user_id,
              workflow_name: this.scope.workflowId,
              ...variables,
            },
          }
        : {}),
      timeout_ms: timeoutMs,
      call_id: `${this.runId}:${tool_call_id}`,
      ...(hook ? { hook } : {}),
    };
    const started = performance.now();
    // The runner enforces the timeout, after letting the call wait as long again for a free
    // slot; the extra second lets its answer arrive.
    const deadline = Date.now() + 2 * timeoutMs + 1000;
    try {
      const reply = await this.requestSurvivingReconnects(request, deadline);
      return reply.ok
        ? {
            ok: true,
            result: reply.result,
            duration_ms: reply.duration_ms,
            ...(reply.variables ? { variables: reply.variables } : {}),
          }
        : { ok: false, error: reply.error, duration_ms: reply.duration_ms };
    } catch (error) {
      const message = errorMessage(error);
      return {
        ok: false,
        error: { code: 'tool_unavailable', message: `tool ${tool.name} could not be run: ${message}` },
        duration_ms: performance.now() - started,
      };
    }
  }

  /**
   * Sends the request and waits for its reply; when the bus reconnects meanwhile (the reply may
   * have been lost with the connection) the request is sent again with the same call id, and the
   * tool-runner answers with the first call's result rather than running the tool again. A request
   * that finds no tool-runner (one not back on NATS yet) is sent again soon, while the earlier ones
   * stay in the race.
   */
  private async requestSurvivingReconnects(request: ToolRequest, deadline: number): Promise<ToolReply> {
    const subject = this.subjects.tool(request.app_id, request.workflow_id);
    const headers = { traceparent: childTraceparent(this.scope.traceparent, `publish ${this.subjects.allTools}`) };
    // Every request sent for the call stays in the race: whichever reply comes first is the call's.
    const answers: Array<Promise<ToolReply>> = [];
    for (;;) {
      let stop: () => void = () => undefined;
      const reconnected = new Promise<'again'>((resolve) => (stop = this.bus.onReconnect(() => resolve('again'))));
      const sent = this.bus.request<ToolReply>(subject, request, {
        timeoutMs: Math.max(1, deadline - Date.now()),
        headers,
      });
      answers.push(sent);
      const answered = new Promise<ToolReply>((resolve) => {
        for (const a of answers) void a.then(resolve, () => undefined);
      });
      // The newest request's failure decides: refused for want of a responder, it is sent again
      // soon; any other failure (its timeout is the call's deadline) is the call's.
      const failed = sent.then(
        () => new Promise<never>(() => undefined),
        async (error: unknown) => {
          void answers.splice(answers.indexOf(sent), 1);
          if (
            !(error instanceof BusError && error.code === 'no_responders') ||
            Date.now() + NO_RESPONDER_RETRY_MS >= deadline
          )
            throw error;
          await new Promise((r) => setTimeout(r, NO_RESPONDER_RETRY_MS));
          return 'again' as const;
        },
      );
      try {
        const first = await Promise.race([answered, reconnected, failed]);
        if (first !== 'again') return first;
      } finally {
        stop();
      }
    }
  }
}
