// The environment variables a tool may ask the tool-runner for: never the runtime's own settings
// and secrets, nor what changes how an interpreter loads code.
import { z } from 'zod';

/**
 * Variables no tool may declare: the runtime's own settings and secrets, and those that change how
 * an interpreter loads code. Everything else a tool declares is passed from the tool-runner's
 * environment.
 */
export const RESERVED_TOOL_ENV = [
  'PORT',
  'HOST',
  'OPENAI_API_KEY',
  'OPENAI_API_BASE',
  'OPENAI_BASE_URL',
  'DEFAULT_MODEL',
  'LLM_TIMEOUT_SECONDS',
  'LLM_MAX_RETRIES',
  'LLM_STREAMING',
  'MODEL_PRICES',
  'MONGODB_URI',
  'MONGODB_DATABASE',
  'JWT_SECRET',
  'JWT_PUBLIC_KEY',
  'JWT_ALGORITHMS',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'CONTEXT_AWARE',
  'MONETIZATION_ENABLED',
  'LOG_LEVEL',
  'WORKFLOWS_DIR',
  'DATA_DIR',
  'SUBJECT_PREFIX',
  'NATS_URL',
  'RUN_ACK_WAIT_SECONDS',
  'CHAT_LEASE_SECONDS',
  'EXECUTOR_CONCURRENCY',
  'EXECUTOR_MAX_RUNS_PER_APP',
  'SHUTDOWN_GRACE_SECONDS',
  'TOOL_TIMEOUT_SECONDS',
  'MAX_MESSAGE_BYTES',
  'TOOL_CONCURRENCY',
  'TOOL_CONCURRENCY_PER_APP',
  'TOOL_QUEUE_LIMIT',
  'TOOL_MEMORY_MB',
  'TOOL_IDLE_WORKERS',
  'TOOL_WORKER_MAX_CALLS',
  'TOOL_WORKER_IDLE_SECONDS',
  'TOOL_PYTHON',
  'NATS_USER',
  'NATS_PASSWORD',
  'NATS_TOKEN',
  'NATS_CREDS',
  'NATS_NKEY',
  'EVENT_RETENTION_DAYS',
  'CHAT_RETENTION_DAYS',
  'JWT_JWKS_URL',
  'JWT_MAX_LIFETIME_SECONDS',
  'WS_MAX_BUFFERED_BYTES',
  'WS_MAX_CONNECTIONS_PER_USER',
  'WS_MAX_CONNECTIONS_PER_APP',
  'USER_MESSAGES_PER_MINUTE',
  'DOUBLE_TEXTING',
  'CONSOLE_ENABLED',
  'USAGE_WEBHOOK_URL',
  'USAGE_WEBHOOK_SECRET',
  'USAGE_WEBHOOK_TIMEOUT_SECONDS',
  'USAGE_WEBHOOK_CONCURRENCY',
  'USAGE_WEBHOOK_RETRY_HOURS',
  'USAGE_WEBHOOK_BACKOFF_MAX_SECONDS',
  'PATH',
  'HOME',
  'PWD',
  'SHELL',
  'BASH_ENV',
  'ENV',
  'IFS',
] as const;
const RESERVED_TOOL_ENV_PREFIXES = [
  'MOZAIKS_',
  'MONGODB_',
  'OTEL_',
  'NODE_',
  'NPM_',
  'PYTHON',
  'LD_',
  'DYLD_',
  'KUBERNETES_',
];

/** Why a tool may not declare variable `name`, or undefined when it may. */
export function reservedToolEnv(name: string): string | undefined {
  if ((RESERVED_TOOL_ENV as readonly string[]).includes(name))
    return `${name} belongs to the runtime and is never given to tools`;
  const prefix = RESERVED_TOOL_ENV_PREFIXES.find((p) => name.startsWith(p));
  return prefix
    ? `variables starting with ${prefix} belong to the runtime or the interpreter and are never given to tools`
    : undefined;
}

/** Names of variables a tool needs from the tool-runner's environment, such as its provider's API key. */
export const ToolEnv = z.array(
  z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name: letters, digits and "_"')
    .superRefine((name, ctx) => {
      const reserved = reservedToolEnv(name);
      if (reserved) ctx.addIssue({ code: 'custom', message: reserved });
    }),
);
