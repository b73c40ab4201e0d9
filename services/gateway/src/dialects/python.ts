// The Python MozaiksAI runtime's wire format, for its frontends: `{type, data, timestamp}`
// envelopes of `chat.*` events. A translation of the one protocol at the socket's edge, both ways;
// nothing behind the gateway knows of it. PROTOCOL.md gives the mapping.
import { parseClientMessage } from '@mozaiks/protocol';
import type { ParsedClientMessage, ServerEvent } from '@mozaiks/protocol';
import type { Dialect } from './dialect.js';

/** The socket path of that format: `/ws/{workflow_id}/{app_id}/{chat_id}/{user_id}`. */
export const PYTHON_PATH = /^\/ws\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)$/;

/** The ids a socket path names. */
export interface PathIds {
  workflow_id: string;
  app_id: string;
  chat_id: string;
  user_id: string;
}

export interface PythonEnvelope {
  type: string;
  data: Record<string, unknown>;
  timestamp: string;
}

export const pythonDialect: Dialect = {
  name: 'python',
  parse: parsePythonFrame,
  render: (event) => {
    const envelope = toPythonEnvelope(event);
    return envelope ? JSON.stringify(envelope) : undefined;
  },
};

/** The ids a path of that format names, or undefined when it is not one. */
export function pythonPathIds(pathname: string): PathIds | undefined {
  const match = PYTHON_PATH.exec(pathname);
  if (!match) return undefined;
  try {
    const [workflow_id, app_id, chat_id, user_id] = match.slice(1).map((part) => decodeURIComponent(part)) as [
      string,
      string,
      string,
      string,
    ];
    return { workflow_id, app_id, chat_id, user_id };
  } catch {
    // A malformed escape names no chat.
    return undefined;
  }
}

/**
 * An event as that format's frontends read it; undefined for what they have no event for (the
 * run's end while it waits for the user, hook calls, token refreshes).
 */
export function toPythonEnvelope(event: ServerEvent): PythonEnvelope | undefined {
  const written = turnEvent(event) ?? runEvent(event);
  if (!written) return undefined;
  const [type, data] = written;
  return {
    type,
    data: {
      ...data,
      ...(event.seq === undefined ? {} : { sequence: event.seq }),
      ...('run_id' in event && event.run_id ? { run_id: event.run_id } : {}),
    },
    timestamp: event.timestamp,
  };
}

type Written = [type: string, data: Record<string, unknown>] | undefined;

/** What an agent does in its turn: words, streamed text, tool calls and results, a UI tool. */
function turnEvent(event: ServerEvent): Written {
  switch (event.type) {
    case 'agent_message':
      return [
        'chat.text',
        {
          kind: 'text',
          agent: event.agent,
          content: event.content,
          ...(event.structured === undefined ? {} : { structured_output: event.structured }),
        },
      ];
    case 'agent_message_delta':
      return ['chat.print', { kind: 'print', agent: event.agent, content: event.delta }];
    case 'tool_call':
      return [
        'chat.tool_call',
        {
          kind: 'tool_call',
          call_id: event.tool_call_id,
          name: event.name,
          agent: event.agent,
          arguments: event.arguments,
        },
      ];
    case 'tool_result':
      return [
        'chat.tool_response',
        {
          kind: 'tool_response',
          call_id: event.tool_call_id,
          name: event.name,
          agent: event.agent,
          ...(event.ok ? { status: 'ok', result: event.result } : { status: 'error', error: event.error }),
        },
      ];
    case 'ui_tool':
      // That format's UI tool is a tool_call awaiting a response; `corr` is what its answer names.
      return [
        'chat.tool_call',
        {
          kind: 'tool_call',
          call_id: event.tool_call_id,
          tool_name: event.name,
          name: event.name,
          agent: event.agent,
          component_type: event.component,
          awaiting_response: true,
          payload: event.payload,
          corr: event.tool_call_id,
          display: event.display,
          display_type: event.display,
        },
      ];
    default:
      return undefined;
  }
}

/** What the run tells: input requests, its end, usage, errors. */
function runEvent(event: ServerEvent): Written {
  switch (event.type) {
    case 'input_request':
      return [
        'chat.input_request',
        {
          kind: 'input_request',
          request_id: event.request_id,
          agent: event.agent,
          prompt: event.prompt,
          password: false,
          ...(event.options ? { options: event.options } : {}),
        },
      ];
    case 'workflow_complete': {
      // There the run goes on while it waits for the user: only a run that ended completes.
      if (event.reason === 'awaiting_input' || event.reason === 'awaiting_user') return undefined;
      const status = event.status === 'completed' ? 1 : 0;
      return ['chat.run_complete', { kind: 'run_complete', status, reason: event.reason, turns: event.turns }];
    }
    case 'usage_delta':
      return [
        'chat.usage_delta',
        {
          kind: 'usage_delta',
          agent: event.agent,
          model: event.model,
          prompt_tokens: event.prompt_tokens,
          completion_tokens: event.completion_tokens,
          total_tokens: event.total_tokens,
          duration_ms: event.duration_ms,
        },
      ];
    case 'usage_update': {
      const { prompt_tokens, completion_tokens } = event.tokens;
      const usage = {
        prompt_tokens,
        completion_tokens,
        total_tokens: event.total_tokens,
        cost: event.cost_usd,
        models: event.models,
      };
      return ['chat.usage_summary', { kind: 'usage_summary', usage }];
    }
    case 'error':
      return [
        'chat.error',
        { kind: 'error', message: event.message, error_code: event.code, retryable: event.retryable },
      ];
    default:
      return undefined;
  }
}

/**
 * A frame of that format as a client message of the one protocol: `user.input.submit` (a message,
 * or with `request_id` the answer to an input request), `ui_tool_response` (`eventId` or
 * `ui_tool_id` names the call), `client.resume` (`lastClientIndex` is the last `sequence` seen).
 */
function parsePythonFrame(frame: string): ParsedClientMessage {
  let data: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(frame);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return { ok: false, code: 'invalid_message', message: 'frame must be a JSON object' };
    data = parsed as Record<string, unknown>;
  } catch {
    return { ok: false, code: 'invalid_message', message: 'frame is not valid JSON' };
  }
  const own = (message: Record<string, unknown>) => parseClientMessage(JSON.stringify(message));
  const type = data.type ?? data.kind;
  switch (type) {
    case 'user.input.submit': {
      const text = typeof data.text === 'string' ? data.text.trim() : data.text;
      const requestId = data.input_request_id ?? data.request_id;
      const ids = data.chat_id === undefined ? {} : { chat_id: data.chat_id };
      return requestId === undefined || requestId === null
        ? own({ type: 'user_message', content: text, ...ids })
        : own({ type: 'user_input', request_id: requestId, content: text });
    }
    case 'ui_tool_response':
      return own({
        type: 'ui_tool_response',
        tool_call_id: data.eventId ?? data.ui_tool_id,
        response: data.response ?? {},
      });
    case 'client.resume':
      return own({ type: 'resume', last_seq: data.lastClientIndex });
    default:
      return {
        ok: false,
        code: 'unknown_message_type',
        message: `unknown message type "${String(type).slice(0, 64)}"; this socket takes user.input.submit, ui_tool_response and client.resume`,
      };
  }
}
