// Runs one JavaScript/TypeScript tool function in this child process. The request arrives as JSON
// on stdin; the outcome leaves as JSON on file descriptor 3, so the tool's own prints cannot corrupt it.
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

function send(outcome) {
  let text;
  try {
    text = JSON.stringify(outcome);
  } catch (error) {
    text = JSON.stringify({ ok: false, error: { code: 'invalid_result', message: `tool result is not JSON: ${error.message}` } });
  }
  writeSync(3, text);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const request = await readStdin();
let fn;
try {
  const mod = await import(pathToFileURL(request.file).href);
  fn = mod[request.function] ?? mod.default?.[request.function];
} catch (error) {
  send({ ok: false, error: { code: 'tool_load_failed', message: `could not load ${request.display}: ${error?.message ?? error}` } });
  process.exit(0);
}
if (typeof fn !== 'function') {
  send({ ok: false, error: { code: 'tool_not_found', message: `${request.display} exports no function "${request.function}"` } });
  process.exit(0);
}
try {
  const result = await fn(request.args, request.context);
  if (result !== undefined && typeof result !== 'object' && !['string', 'number', 'boolean'].includes(typeof result)) {
    send({ ok: false, error: { code: 'invalid_result', message: `tool returned a ${typeof result}, which is not JSON` } });
  } else if (typeof result === 'number' && !Number.isFinite(result)) {
    send({ ok: false, error: { code: 'invalid_result', message: `tool returned ${result}, which is not JSON` } });
  } else {
    send({ ok: true, result: result === undefined ? null : result });
  }
} catch (error) {
  send({ ok: false, error: { code: 'tool_failed', message: String(error?.message ?? error).slice(0, 2000) } });
}
process.exit(0);
