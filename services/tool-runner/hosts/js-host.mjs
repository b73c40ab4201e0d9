// A warm worker for a workflow's JavaScript and TypeScript tools: calls arrive one at a time as JSON
// lines on file descriptor 3 and their outcomes leave as JSON lines on descriptor 4, so a tool's
// prints can never corrupt a result. The runner starts this process under Node's permission model
// (reads limited to the workflow folder, no child processes, workers or native addons) and a
// memory cap; here the last ways out of the process are closed before any tool loads.
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import net from 'node:net';
import { pathToFileURL } from 'node:url';

const settings = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);

// TypeScript is transpiled (types stripped, no type-check) to CommonJS in this thread: loader hooks
// would need a worker thread, which the permission model refuses to tool code.
Module._extensions['.ts'] = function compileTypeScript(module, filename) {
  const { transform } = require(settings.sucrase);
  const { code } = transform(readFileSync(filename, 'utf8'), {
    transforms: ['typescript', 'imports'],
    filePath: filename,
    production: true,
  });
  module._compile(code, filename);
};

// Signals may only go to this process: the runner and other tenants' workers share the user.
const ownKill = process.kill.bind(process);
const guardedKill = (pid, signal) => {
  if (pid !== process.pid && pid !== 0)
    throw Object.assign(new Error('tools may not signal other processes'), {
      code: 'ERR_ACCESS_DENIED',
      permission: 'Signal',
    });
  return ownKill(pid, signal);
};
Object.defineProperty(process, 'kill', { value: guardedKill, writable: false, configurable: false });
delete process._kill;

const modules = new Map();

async function loadModule(file) {
  if (modules.has(file)) return modules.get(file);
  let mod;
  if (file.endsWith('.ts') || file.endsWith('.cjs')) mod = require(file);
  else mod = await import(pathToFileURL(file).href);
  modules.set(file, mod);
  return mod;
}

function loadFailure(error, request) {
  const message = String(error?.message ?? error).split('\n')[0];
  let hint = '';
  if (
    request.file.endsWith('.js') &&
    (error?.code === 'ERR_REQUIRE_CYCLE_MODULE' ||
      /Unexpected token 'export'|Cannot use import statement/.test(message))
  ) {
    hint = ' (a package.json above it says "type": "commonjs"; name the file .mjs or drop that field)';
  }
  return {
    ok: false,
    error: { code: 'tool_load_failed', message: `could not load ${request.display}: ${message}${hint}` },
  };
}

function failure(error, request) {
  const message = String(error?.message ?? error).slice(0, 2000);
  if (error?.code === 'ERR_ACCESS_DENIED') {
    const what =
      error.permission === 'FileSystemRead'
        ? `read ${error.resource}: it is outside the workflow folder`
        : error.permission === 'FileSystemWrite'
          ? `write ${error.resource}`
          : error.permission === 'ChildProcess'
            ? 'start processes'
            : error.permission === 'WorkerThreads'
              ? 'start worker threads'
              : error.permission === 'Signal'
                ? 'signal other processes'
                : `use ${error.permission || error.message || 'this API'}`;
    return {
      ok: false,
      error: { code: 'permission_denied', message: `${request.display} ${request.function}: tools may not ${what}` },
    };
  }
  if (error?.code === 'ERR_DLOPEN_DISABLED') {
    return {
      ok: false,
      error: {
        code: 'permission_denied',
        message: `${request.display} ${request.function}: tools may not load native addons`,
      },
    };
  }
  if (error instanceof RangeError && /allocation failed|out of memory/i.test(message)) {
    return {
      ok: false,
      error: { code: 'memory_limit', message: `${request.display} ${request.function} ran out of memory: ${message}` },
    };
  }
  return { ok: false, error: { code: 'tool_failed', message } };
}

/**
 * Why `value` would not survive as JSON, or undefined. JSON.stringify would silently turn a
 * function into nothing, NaN into null and a Map into {}: the agent would see other data than the
 * tool returned. Dates and objects with toJSON are JSON by their own account.
 */
function checkResult(value, where = 'the result', seen = new Set()) {
  const kind = typeof value;
  if (kind === 'function' || kind === 'symbol' || kind === 'bigint') return `${where} is a ${kind}, which is not JSON`;
  if (kind === 'number' && !Number.isFinite(value)) return `${where} is ${value}, which is not JSON`;
  if (value === null || kind !== 'object' || typeof value.toJSON === 'function') return undefined;
  if (value instanceof Map || value instanceof Set)
    return `${where} is a ${value.constructor.name}, which is not JSON (return an object or an array)`;
  if (ArrayBuffer.isView(value))
    return `${where} is a ${value.constructor.name}, which is not JSON (return a string or an array)`;
  if (seen.has(value)) return `${where} refers back to itself, which JSON cannot hold`;
  seen.add(value);
  const entries = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v])
    : Object.entries(value).map(([k, v]) => [`.${k}`, v]);
  for (const [key, item] of entries) {
    // An absent optional field (undefined) is left out, as JSON.stringify does; in an array it is null.
    if (item === undefined) continue;
    const problem = checkResult(item, `${where}${key}`, seen);
    if (problem) return problem;
  }
  seen.delete(value);
  return undefined;
}

async function call(request) {
  let mod;
  try {
    mod = await loadModule(request.file);
  } catch (error) {
    if (error?.code === 'ERR_ACCESS_DENIED') return failure(error, request);
    return loadFailure(error, request);
  }
  const fn = mod[request.function] ?? mod.default?.[request.function];
  if (typeof fn !== 'function') {
    return {
      ok: false,
      error: { code: 'tool_not_found', message: `${request.display} exports no function "${request.function}"` },
    };
  }
  try {
    const result = await fn(request.args, request.context);
    const problem = checkResult(result);
    return problem
      ? { ok: false, error: { code: 'invalid_result', message: problem } }
      : { ok: true, result: result === undefined ? null : result };
  } catch (error) {
    return failure(error, request);
  }
}

function encode(outcome, id) {
  try {
    return JSON.stringify({ id, ...outcome });
  } catch (error) {
    return JSON.stringify({
      id,
      ok: false,
      error: { code: 'invalid_result', message: `tool result is not JSON: ${error.message}` },
    });
  }
}

process.chdir(settings.workflowDir);
const replies = new net.Socket({ fd: 4, readable: false, writable: true });
const requests = new net.Socket({ fd: 3, readable: true, writable: false });
requests.setEncoding('utf8');
let buffered = '';
let queue = Promise.resolve();
/** The request being served, if any. */
let current;
requests.on('data', (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf('\n')) >= 0) {
    const request = JSON.parse(buffered.slice(0, newline));
    buffered = buffered.slice(newline + 1);
    queue = queue.then(async () => {
      current = request;
      const outcome = await call(request);
      if (current === request) replies.write(`${encode(outcome, request.id)}\n`);
      current = undefined;
    });
  }
});
// An error no tool code caught (a timer that throws, a promise nobody awaited) fails the call
// being served, if any, and ends this worker: its state can no longer be trusted.
const onStray = (error) => {
  const request = current;
  current = undefined;
  const reason = String(error?.message ?? error).slice(0, 2000);
  const done = () => process.exit(70);
  if (request)
    replies.write(
      `${encode({ ok: false, error: { code: 'tool_failed', message: `${request.display} ${request.function} left an error unhandled: ${reason}` } }, request.id)}\n`,
      done,
    );
  else done();
};
process.on('uncaughtException', onStray);
process.on('unhandledRejection', onStray);
// The runner closing the channel is the signal to stop.
requests.on('end', () => process.exit(0));
replies.write('{"ready":true}\n');
