// Starts a standalone runtime for a test: its own port, data folder, scripted LLM endpoint and
// captured log lines, so a test sees exactly what an operator and a client would.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import path from 'node:path';
import { loadRuntimeConfig } from '@mozaiks/config';
import { startStandalone } from '@mozaiks/standalone';
import type { StandaloneRuntime } from '@mozaiks/standalone';
import { createLogger } from '@mozaiks/telemetry';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, makeTempDir, startScriptedLlm } from '@mozaiks/testing';
import type { MongoTestServer, ScriptedLlm, TempDir } from '@mozaiks/testing';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const SHIPPED_WORKFLOWS = path.join(REPO_ROOT, 'workflows');
export const FIXTURE_WORKFLOWS = path.join(__dirname, '../fixtures/workflows');
export const TEST_API_KEY = 'sk-test-do-not-log-0123456789abcdef';

export interface TestRuntime {
  runtime: StandaloneRuntime;
  llm: ScriptedLlm;
  /** Log lines written so far, parsed. */
  logs: () => Record<string, unknown>[];
  /** Log output as written. */
  rawLogs: () => string;
  /** `ws://…/ws/chat?token=` + token. */
  wsUrl: (token: string) => string;
  dataDir: TempDir;
  stop: () => Promise<void>;
}

/** The environment a test runtime runs with: its own port, data, workflows and LLM endpoint, the test keys. */
export function testRuntimeEnv(options: {
  llmUrl: string;
  dataDir: string;
  workflowsDir?: string;
}): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    OPENAI_API_KEY: TEST_API_KEY,
    OPENAI_API_BASE: options.llmUrl,
    DEFAULT_MODEL: 'gpt-4o-mini',
    LLM_MAX_RETRIES: '0',
    JWT_SECRET: TEST_SECRET,
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: TEST_AUDIENCE,
    WORKFLOWS_DIR: options.workflowsDir ?? SHIPPED_WORKFLOWS,
    DATA_DIR: options.dataDir,
  };
}

/**
 * The store of a test runtime: MongoDB when the suite brings a server (or MONGODB_URI is set, which
 * puts every standalone suite on it), with a database named after the data folder, so a runtime
 * started again on the same folder finds the same chats; else SQLite in the data folder.
 */
function storeEnv(dataDir: TempDir, mongo: MongoTestServer | undefined): Record<string, string> {
  const uri = mongo?.uri ?? process.env.MONGODB_URI;
  if (!uri) return {};
  return {
    MONGODB_URI: uri,
    MONGODB_DATABASE: `e2e_${createHash('sha256').update(dataDir.path).digest('hex').slice(0, 16)}`,
  };
}

export async function startTestRuntime(
  options: { workflowsDir?: string; env?: Record<string, string>; dataDir?: TempDir; mongo?: MongoTestServer } = {},
): Promise<TestRuntime> {
  const llm = await startScriptedLlm();
  // A data folder given by the test outlives this runtime (to start another on it); it removes it.
  const dataDir = options.dataDir ?? makeTempDir('mozaiks-e2e-');
  const env = {
    ...testRuntimeEnv({
      llmUrl: llm.url,
      dataDir: dataDir.path,
      ...(options.workflowsDir ? { workflowsDir: options.workflowsDir } : {}),
    }),
    ...storeEnv(dataDir, options.mongo),
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const config = loadRuntimeConfig(env, undefined);
  let raw = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw += chunk.toString();
      done();
    },
  });
  const logger = createLogger({
    service: 'standalone',
    level: 'debug',
    destination,
    secrets: [config.OPENAI_API_KEY, config.JWT_SECRET, config.MONGODB_URI],
  });
  // Tools draw declared variables from the same environment the runtime's secrets are in, as in production.
  const runtime = await startStandalone(config, { logger, processMetrics: false, toolEnv: env });
  return {
    runtime,
    llm,
    rawLogs: () => raw,
    logs: () =>
      raw
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    wsUrl: (token) => `${runtime.url.replace(/^http/, 'ws')}/ws/chat?token=${token}`,
    dataDir,
    stop: async () => {
      await runtime.stop();
      await llm.close();
      if (!options.dataDir) dataDir.remove();
    },
  };
}
