// A local OpenAI-compatible endpoint for trying the runtime without an API key. It is a real HTTP
// server, reached through the same client as a real model; its replies are canned and say so.
import { startChatCompletionsServer } from './openai-wire.js';
import type { ChatCompletionsServer, CompletionReply, CompletionRequestBody } from './openai-wire.js';

export const DEMO_MODEL_NOTE =
  "This is the runtime's demo model: set OPENAI_API_KEY (and OPENAI_API_BASE for another provider) to use a real one.";

function text(content: unknown): string {
  return typeof content === 'string' ? content : JSON.stringify(content ?? '');
}

/** Builds the required arguments of a tool's JSON Schema, well enough for a demonstration. */
function demoArguments(parameters: Record<string, unknown> | undefined): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  const properties = (parameters?.properties ?? {}) as Record<string, { type?: string }>;
  const required = Array.isArray(parameters?.required) ? (parameters.required as string[]) : [];
  for (const [name, schema] of Object.entries(properties)) {
    if (!required.includes(name)) continue;
    args[name] =
      schema.type === 'number' || schema.type === 'integer' ? 1 : schema.type === 'boolean' ? true : `demo ${name}`;
  }
  return args;
}

/** The demo's reply: call the agent's first tool once per user message, then answer in words. */
export function demoReply(body: CompletionRequestBody): CompletionReply {
  const last = body.messages.at(-1);
  const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
  let reply: CompletionReply;
  const tool = body.tools?.[0]?.function;
  if (tool && last?.role === 'user' && !last.name) {
    reply = { tool_calls: [{ name: tool.name, arguments: JSON.stringify(demoArguments(tool.parameters)) }] };
  } else if (last?.role === 'tool') {
    reply = { content: `The tool answered ${text(last.content).slice(0, 200)}. ${DEMO_MODEL_NOTE}` };
  } else {
    const said = text(lastUser?.content).slice(0, 200);
    const speaker = typeof lastUser?.name === 'string' ? `${lastUser.name} said` : 'You said';
    reply = { content: `${speaker}: "${said}". ${DEMO_MODEL_NOTE}` };
  }
  // A rough count (four characters a token), reported as a real endpoint reports its own.
  const promptChars = body.messages.reduce((n, m) => n + text(m.content).length, 0);
  const completionChars = (reply.content ?? '').length + JSON.stringify(reply.tool_calls ?? '').length;
  reply.usage = { prompt_tokens: Math.ceil(promptChars / 4), completion_tokens: Math.ceil(completionChars / 4) };
  return reply;
}

export function startDemoLlm(): Promise<ChatCompletionsServer> {
  return startChatCompletionsServer(demoReply);
}
