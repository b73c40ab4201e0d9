// The web console's script: a chat with a workflow in the browser, on @mozaiks/client. Bundled
// into console.js by `npm run console` (esbuild); the gateway serves it at /console.
import { MozaiksClient } from '@mozaiks/client';
import type { ServerEvent } from '@mozaiks/client';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('chat');
const tokenField = $<HTMLInputElement>('token');
const messageField = $<HTMLInputElement>('message');
const log = $<HTMLOListElement>('log');
const state = $<HTMLSpanElement>('state');
const asking = $<HTMLParagraphElement>('asking');
let client: MozaiksClient | undefined;
let connectedWith = '';
let question: { request_id: string; prompt: string } | undefined;
let streaming: HTMLLIElement | undefined;

function item(kind: string, text: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = kind;
  li.textContent = text;
  log.append(li);
  li.scrollIntoView({ block: 'end' });
  return li;
}

function show(e: ServerEvent): void {
  switch (e.type) {
    case 'agent_message_delta':
      streaming ??= item('agent', `${e.agent}: `);
      streaming.textContent += e.delta;
      return;
    case 'agent_message':
      if (streaming) streaming.textContent = `${e.agent}: ${e.content}`;
      else item('agent', `${e.agent}: ${e.content}`);
      streaming = undefined;
      return;
    case 'tool_call':
      item('tool', `${e.agent} calls ${e.name}(${JSON.stringify(e.arguments)})`);
      return;
    case 'tool_result':
      item(
        e.ok ? 'tool' : 'error',
        `${e.name} → ${e.ok ? JSON.stringify(e.result) : `failed: ${e.error?.message ?? ''}`}`,
      );
      return;
    case 'input_request':
      question = { request_id: e.request_id, prompt: e.prompt };
      asking.textContent = `${e.agent} asks: ${e.prompt} (your next message answers)`;
      asking.hidden = false;
      item('ask', `${e.agent} asks: ${e.prompt}`);
      return;
    case 'ui_tool':
      item('tool', `${e.agent} shows ${e.component}: ${JSON.stringify(e.payload)}`);
      return;
    case 'usage_update':
      item('usage', `Usage: ${e.total_tokens} tokens, $${e.cost_usd.toFixed(6)}`);
      return;
    case 'error':
      item('error', `Error ${e.code}: ${e.message}`);
      return;
    case 'hook':
      if (!e.ok) item('error', `${e.hook} ${e.name} failed: ${e.error?.message ?? ''}`);
      return;
    default:
      return;
  }
}

async function connect(token: string): Promise<MozaiksClient> {
  if (client && connectedWith === token && client.state !== 'closed') return client;
  client?.close();
  log.replaceChildren();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/chat`;
  // From 0: a reload shows the chat's history.
  const next = await MozaiksClient.connect({ url, token, lastSeq: 0 });
  next.onState((s) => (state.textContent = s));
  next.on('*', show);
  state.textContent = next.state;
  connectedWith = token;
  client = next;
  sessionStorage.setItem('mozaiks-console-token', token);
  return next;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = messageField.value.trim();
  const token = tokenField.value.trim();
  if (!token) return void item('error', 'Paste a launch token first.');
  void connect(token).then(
    (c) => {
      if (!text) return;
      item('user', `You: ${text}`);
      if (question) c.answer(question.request_id, text);
      else c.send(text);
      question = undefined;
      asking.hidden = true;
      messageField.value = '';
      messageField.focus();
    },
    (error: unknown) => {
      state.textContent = 'closed';
      item('error', `Cannot connect: ${error instanceof Error ? error.message : String(error)}`);
    },
  );
});

// The dev token (npm start) or the last one used; the chat's history shows at once.
tokenField.value ||= sessionStorage.getItem('mozaiks-console-token') ?? '';
if (tokenField.value)
  void connect(tokenField.value).catch((error: unknown) =>
    item('error', `Cannot connect: ${error instanceof Error ? error.message : String(error)}`),
  );
