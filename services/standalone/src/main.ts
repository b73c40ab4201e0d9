// `npm start`: the standalone runtime's composition root. Reads the configuration, fills in
// development defaults (a signing secret, a demo LLM endpoint) when none is configured, starts
// the runtime, and stops it cleanly on SIGTERM/SIGINT.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { signLaunchToken } from '@mozaiks/auth';
import { ConfigError, loadRuntimeConfig, secretValues } from '@mozaiks/config';
import { onShutdown } from '@mozaiks/service';
import { StoreUnavailableError } from '@mozaiks/store';
import type { RuntimeConfig } from '@mozaiks/config';
import { createLogger, flushLogger, startTracing, toPinoLevel } from '@mozaiks/telemetry';
import type { Logger } from '@mozaiks/telemetry';
import { startStandalone } from './standalone-runtime.js';

const DEV_ISSUER = 'mozaiks-dev';

async function main(): Promise<void> {
  let config: RuntimeConfig;
  try {
    config = loadRuntimeConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const devSecret =
    !config.JWT_SECRET && !config.JWT_PUBLIC_KEY && !config.JWT_JWKS_URL
      ? randomBytes(32).toString('base64url')
      : undefined;
  if (devSecret)
    config = {
      ...config,
      JWT_SECRET: devSecret,
      JWT_ISSUER: config.JWT_ISSUER ?? DEV_ISSUER,
      JWT_ALGORITHMS: undefined,
    };
  const logger = createLogger({
    service: 'standalone',
    level: toPinoLevel(config.LOG_LEVEL) ?? 'info',
    secrets: secretValues(config),
  });

  const tracing = await startTracing('standalone');
  const runtime = await startStandalone(config, { logger, toolEnv: process.env });
  logger.info(
    {
      url: runtime.url,
      websocket: `${runtime.url.replace(/^http/, 'ws')}/ws/chat`,
      workflows_dir: path.resolve(config.WORKFLOWS_DIR),
      store: runtime.stores.location,
    },
    'MozaiksAI runtime listening',
  );
  if (devSecret) {
    const token = await printDevToken(config, devSecret, runtime.url, logger);
    // The console at /console starts with it.
    if (token) runtime.setConsoleToken(token);
  }

  onShutdown(
    async (signal) => {
      logger.info({ signal }, 'shutting down');
      await runtime.stop();
      await tracing.shutdown().catch(() => undefined);
      logger.info('stopped');
    },
    (error) => logger.error({ error: String(error) }, 'did not stop cleanly'),
    () => flushLogger(logger),
  );
}

/** With no signing key configured, mints a token for the first workflow and shows how to use it. */
async function printDevToken(
  config: RuntimeConfig,
  secret: string,
  url: string,
  logger: Logger,
): Promise<string | undefined> {
  const workflows = existsSync(config.WORKFLOWS_DIR)
    ? readdirSync(config.WORKFLOWS_DIR)
        .filter((d) => existsSync(path.join(config.WORKFLOWS_DIR, d, 'orchestrator.yaml')))
        .sort()
    : [];
  const workflowId = workflows.includes('hello') ? 'hello' : workflows[0];
  logger.warn(
    'no JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL: launch tokens are checked against a random secret made for this run only',
  );
  if (!workflowId) return undefined;
  const token = await signLaunchToken(
    { user_id: 'dev_user', app_id: 'dev_app', workflow_id: workflowId, chat_id: `chat_${randomUUID().slice(0, 8)}` },
    { secret, issuer: config.JWT_ISSUER ?? DEV_ISSUER, audience: config.JWT_AUDIENCE, expiresInSeconds: 24 * 3600 },
  );
  const wsUrl = `${url.replace(/^http/, 'ws')}/ws/chat?token=${token}`;
  // Straight to the terminal, never through the logger: this is the one place a token is shown.
  process.stderr.write(
    [
      '',
      `Development token for workflow "${workflowId}" (valid 24 h, for this run only):`,
      `  ${token}`,
      'Chat with it from another terminal:',
      `  npm run chat -- "${wsUrl}"`,
      ...(config.CONSOLE_ENABLED === false ? [] : ['or in the browser (the token is filled in):', `  ${url}/console`]),
      '',
    ].join('\n') + '\n',
  );
  return token;
}

void main().catch((error: unknown) => {
  // An unreachable store is said plainly (its host, never its password); anything else with its stack.
  const known = error instanceof StoreUnavailableError;
  process.stderr.write(
    `failed to start: ${error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : String(error)}\n`,
  );
  process.exit(1);
});
