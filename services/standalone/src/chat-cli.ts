// `npm run chat -- "<ws url with ?token=…>"`: a terminal chat client for trying a workflow.
// Each line typed is a user_message; events are printed as they arrive.
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';

const url = process.argv[2];
if (!url || !/^wss?:\/\//.test(url)) {
  process.stderr.write('usage: npm run chat -- "ws://localhost:8000/ws/chat?token=<launch token>"\n');
  process.exit(2);
}

const socket = new WebSocket(url);
// Lines are read only once the socket is open, so nothing typed early is lost or sent too soon.
let input: ReturnType<typeof createInterface> | undefined;

socket.on('unexpected-response', (_req, res) => {
  let body = '';
  res.on('data', (c: Buffer) => (body += c.toString()));
  res.on('end', () => {
    process.stderr.write(`connection refused: HTTP ${res.statusCode} ${body}\n`);
    process.exit(1);
  });
});
socket.on('open', () => {
  process.stdout.write('connected; type a message and press Enter (Ctrl+D to quit)\n');
  const lines = createInterface({ input: process.stdin, output: process.stdout, prompt: 'you> ' });
  lines.on('line', (line) => {
    if (line.trim()) {
      pending++;
      socket.send(JSON.stringify({ type: 'user_message', content: line }));
    } else lines.prompt();
  });
  // Ctrl+D: leave once the answer to the last message is in.
  lines.on('close', () => {
    closing = true;
    if (pending === 0) socket.close(1000);
  });
  input = lines;
  lines.prompt();
});
let closing = false;
/** Messages sent whose run has not ended yet. */
let pending = 0;
/** The agent whose streamed text is being printed, if any. */
let streaming: string | undefined;

socket.on('message', (data) => {
  const event = JSON.parse(data.toString()) as Record<string, unknown>;
  if (event.type === 'agent_message_delta') {
    if (streaming !== event.agent) process.stdout.write(`\r${String(event.agent)}> `);
    streaming = String(event.agent);
    process.stdout.write(String(event.delta));
    return;
  }
  if (event.type === 'agent_message' && streaming === event.agent) {
    // Already on screen as it streamed.
    streaming = undefined;
    process.stdout.write('\n');
    return;
  }
  if (streaming) process.stdout.write('\n');
  streaming = undefined;
  const line = (() => {
    switch (event.type) {
      case 'agent_message': return `${String(event.agent)}> ${String(event.content)}`;
      case 'tool_call': return `  [tool_call] ${String(event.name)} ${JSON.stringify(event.arguments)}`;
      case 'tool_result': return `  [tool_result] ${String(event.name)} ${event.ok ? JSON.stringify(event.result) : `error: ${JSON.stringify(event.error)}`}`;
      case 'workflow_complete': return `  [workflow_complete] ${String(event.status)} (${String(event.reason)}, ${String(event.turns)} turns)`;
      case 'usage_update': return `  [usage_update] ${String(event.total_tokens)} tokens, $${String(event.cost_usd)}`;
      case 'error': return `  [error] ${String(event.code)}: ${String(event.message)}`;
      default: return `  ${JSON.stringify(event)}`;
    }
  })();
  process.stdout.write(`\r${line}\n`);
  if (event.type === 'workflow_complete' || (event.type === 'error' && event.seq === undefined)) pending = Math.max(0, pending - 1);
  if (event.type === 'usage_update' || (event.type === 'error' && event.seq === undefined)) {
    if (closing && pending === 0) socket.close(1000);
    else input?.prompt();
  }
});
socket.on('close', (code, reason) => {
  process.stdout.write(`\nclosed (${code}${reason.length ? `: ${reason.toString()}` : ''})\n`);
  process.exit(0);
});
