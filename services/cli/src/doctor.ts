// `mozaiks doctor`: checks what the runtime would run with (its configuration, the LLM endpoint
// and key, NATS, the chat store, the workflow folders) and says what is wrong and how to fix it.
import { mkdirSync, accessSync, constants } from 'node:fs';
import { connectRuntimeBus } from '@mozaiks/service';
import { ConfigError, loadRuntimeConfig } from '@mozaiks/config';
import type { RuntimeConfig } from '@mozaiks/config';
import { openStore } from '@mozaiks/store';
import { validateWorkflows } from './validate.js';
import { errorMessage } from '@mozaiks/common';

export interface Finding {
  ok: boolean;
  /** What was checked: config, llm, nats, store, workflows. */
  part: string;
  /** What was found, and when something is wrong, what to do. */
  message: string;
}

const OPENAI_BASE = 'https://api.openai.com/v1';

/** Every check, in order; none stops the others. */
export async function doctor(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<Finding[]> {
  const findings: Finding[] = [];
  let config: RuntimeConfig;
  try {
    config = loadRuntimeConfig(env, undefined);
    findings.push({ ok: true, part: 'config', message: 'every variable is valid' });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems)
      findings.push({ ok: false, part: 'config', message: `${problem} (fix it in the environment or .env)` });
    // The other checks need a valid configuration: the workflows can still be checked.
    findings.push(workflowsFinding(env.WORKFLOWS_DIR ?? './workflows', cwd));
    return findings;
  }
  findings.push(await llmFinding(config));
  findings.push(await natsFinding(config));
  findings.push(await storeFinding(config));
  findings.push(workflowsFinding(config.WORKFLOWS_DIR, cwd));
  return findings;
}

async function llmFinding(config: RuntimeConfig): Promise<Finding> {
  if (!config.OPENAI_API_KEY && !config.OPENAI_API_BASE) {
    return {
      ok: true,
      part: 'llm',
      message:
        'no OPENAI_API_KEY or OPENAI_API_BASE: agents answer with the built-in demo model; set them for a real one',
    };
  }
  const base = (config.OPENAI_API_BASE ?? OPENAI_BASE).replace(/\/+$/, '');
  const host = new URL(base).host;
  try {
    const response = await fetch(`${base}/models`, {
      headers: config.OPENAI_API_KEY ? { authorization: `Bearer ${config.OPENAI_API_KEY}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (response.status === 401 || response.status === 403) {
      return {
        ok: false,
        part: 'llm',
        message: `${host} refused the key (${response.status}): set OPENAI_API_KEY to a valid key for this endpoint`,
      };
    }
    if (response.ok) return { ok: true, part: 'llm', message: `${host} answers and accepts the key` };
    // Some OpenAI-compatible endpoints have no /models: reachable is all that can be told.
    return {
      ok: true,
      part: 'llm',
      message: `${host} answers (GET /models: ${response.status}); the key is checked on the first call`,
    };
  } catch (error) {
    return {
      ok: false,
      part: 'llm',
      message: `${host} does not answer (${errorMessage(error)}): check OPENAI_API_BASE and the network`,
    };
  }
}

async function natsFinding(config: RuntimeConfig): Promise<Finding> {
  if (!config.NATS_URL)
    return {
      ok: true,
      part: 'nats',
      message: 'no NATS_URL: the embedded runtime (npm start) needs none; the distributed services do',
    };
  try {
    const bus = await connectRuntimeBus({
      servers: config.NATS_URL,
      prefix: config.SUBJECT_PREFIX,
      service: 'doctor',
      ackWaitMs: 30_000,
      onError: () => undefined,
      failFast: true,
    });
    await bus.drain();
    return { ok: true, part: 'nats', message: `${config.NATS_URL} answers, with JetStream and the runtime's streams` };
  } catch (error) {
    const reason = errorMessage(error);
    const fix = /jetstream/i.test(reason)
      ? 'enable JetStream on it (nats-server -js)'
      : 'start nats-server -js there, or fix NATS_URL';
    return {
      ok: false,
      part: 'nats',
      message: `no NATS server with JetStream at ${config.NATS_URL} (${reason}): ${fix}`,
    };
  }
}

async function storeFinding(config: RuntimeConfig): Promise<Finding> {
  if (!config.MONGODB_URI) {
    try {
      mkdirSync(config.DATA_DIR, { recursive: true });
      accessSync(config.DATA_DIR, constants.W_OK);
      return {
        ok: true,
        part: 'store',
        message: `SQLite under ${config.DATA_DIR} (one host only; set MONGODB_URI for the distributed runtime)`,
      };
    } catch (error) {
      return {
        ok: false,
        part: 'store',
        message: `cannot write ${config.DATA_DIR} (${errorMessage(error)}): set DATA_DIR to a writable folder`,
      };
    }
  }
  try {
    const stores = await openStore({
      dataDir: config.DATA_DIR,
      mongodbUri: config.MONGODB_URI,
      mongodbDatabase: config.MONGODB_DATABASE,
    });
    const where = stores.location;
    await stores.close();
    return { ok: true, part: 'store', message: `${where} answers` };
  } catch (error) {
    return {
      ok: false,
      part: 'store',
      message: `MongoDB does not answer (${errorMessage(error)}): check MONGODB_URI and that the server is a replica set`,
    };
  }
}

function workflowsFinding(dir: string, cwd: string): Finding {
  const report = validateWorkflows(dir, cwd);
  if (report.problems.length) {
    return {
      ok: false,
      part: 'workflows',
      message: `${report.problems.length} problem(s), fix each at its place (mozaiks validate ${dir} lists them):\n    ${report.problems.join('\n    ')}`,
    };
  }
  if (report.checked.length === 0)
    return { ok: false, part: 'workflows', message: `no workflow folders in ${dir}: set WORKFLOWS_DIR` };
  return { ok: true, part: 'workflows', message: `${report.checked.length} valid: ${report.checked.join(', ')}` };
}
