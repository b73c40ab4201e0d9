// The runtime's configuration: the integration guide's variables plus the runtime's own, validated
// once at start so a bad value stops the process with every problem named.
import { z } from 'zod';
import { EnvBoolean } from '@mozaiks/protocol';
import { readEnv } from './env.js';
import type { Env } from './env.js';

/** A variable that is on or off, by the protocol's one rule, with its default. */
const bool = (fallback: boolean) => EnvBoolean.default(fallback);

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'critical', 'silent'];
const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** A number from a string; `what` names the expected kind when the text is not a number at all. */
const number = (what: string) =>
  z.coerce.number({ error: (issue) => (issue.code === 'invalid_type' ? what : undefined) });

const url = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const ModelPrice = z.object({
  prompt: z.number().nonnegative(),
  completion: z.number().nonnegative(),
});

export const RuntimeConfig = z
  .object({
    /** HTTP port for the WebSocket, /health and /metrics. */
    PORT: number('must be a port number').int().min(0).max(65535).default(8000),
    /** Interface to listen on. */
    HOST: z.string().default('0.0.0.0'),
    /** Key for the LLM endpoint. Unset: standalone starts a local demo endpoint. */
    OPENAI_API_KEY: z.string().optional(),
    /** Base URL of any OpenAI-compatible endpoint (the SDK's `OPENAI_BASE_URL` is read too). */
    OPENAI_API_BASE: url.optional(),
    OPENAI_BASE_URL: url.optional(),
    /** Model for agents whose `llm_config` names none. */
    DEFAULT_MODEL: z.string().min(1).default('gpt-4o-mini'),
    /** Seconds one LLM call may take before it is retried. */
    LLM_TIMEOUT_SECONDS: number('must be a number of seconds').positive().default(120),
    /** Retries of a failed LLM call (connection errors, 408, 409, 429, 5xx), by the SDK. */
    LLM_MAX_RETRIES: number('must be a whole number').int().min(0).max(10).default(2),
    /** Stream replies so clients get agent_message_delta events; off for endpoints that report no usage when streaming. */
    LLM_STREAMING: bool(true),
    /** JSON object of per-model prices in USD per million tokens: {"model": {"prompt": 2.5, "completion": 10}}. */
    MODEL_PRICES: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined) return {};
        try {
          const parsed = z.record(z.string(), ModelPrice).safeParse(JSON.parse(text));
          if (parsed.success) return parsed.data;
          ctx.addIssue({
            code: 'custom',
            message: `must map model names to {"prompt": n, "completion": n}: ${parsed.error.issues[0]?.message}`,
          });
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
        }
        return z.NEVER;
      }),
    /** MongoDB connection string: the store of the distributed services. Unset: SQLite under DATA_DIR (one host). */
    MONGODB_URI: z
      .string()
      .optional()
      .refine((uri) => uri === undefined || /^mongodb(\+srv)?:\/\/\S+$/.test(uri), {
        message: 'must be a mongodb:// or mongodb+srv:// connection string',
      }),
    /** Database the runtime's collections live in. */
    MONGODB_DATABASE: z
      .string()
      .regex(/^[^/\\. "$]{1,63}$/, 'must be a MongoDB database name')
      .default('mozaiks_runtime'),
    /** Connections each process may open to each MongoDB server. */
    MONGODB_MAX_POOL_SIZE: number('must be a whole number').int().min(1).default(20),
    /** Days persisted events are kept (0: for ever). Message history and usage not yet published are never removed. */
    EVENT_RETENTION_DAYS: number('must be a number of days').nonnegative().default(0),
    /** Days without activity after which a chat is erased whole (executors' sweep); 0: kept for ever. */
    CHAT_RETENTION_DAYS: number('must be a number of days').nonnegative().default(0),
    /** Shared secret for HS256 launch tokens. */
    JWT_SECRET: z.string().optional(),
    /** PEM public key (SPKI) for RS256/ES256 launch tokens; `\n` escapes are accepted. */
    JWT_PUBLIC_KEY: z
      .string()
      .optional()
      .transform((pem) => pem?.replace(/\\n/g, '\n'))
      .refine((pem) => pem === undefined || pem.includes('-----BEGIN PUBLIC KEY-----'), {
        message: 'must be a PEM public key starting with -----BEGIN PUBLIC KEY-----',
      }),
    /** URL of the control plane's JSON Web Key Set: keys fetched, cached and refetched for a new `kid`. */
    JWT_JWKS_URL: url.optional(),
    /** Longest lifetime (`exp - iat`, or `exp - now` without `iat`) a launch token may have, in seconds. */
    JWT_MAX_LIFETIME_SECONDS: number('must be a number of seconds').int().positive().optional(),
    /** Comma-separated algorithms a token may use; by default those of the configured keys. */
    JWT_ALGORITHMS: z
      .string()
      .optional()
      .transform((list, ctx) => {
        if (list === undefined) return undefined;
        const algs = list
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean);
        const unknown = algs.filter((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a));
        if (unknown.length || algs.length === 0) {
          ctx.addIssue({
            code: 'custom',
            message: `unsupported algorithm(s) ${unknown.join(', ') || '(none)'}; use ${JWT_ALGORITHMS.join(', ')}`,
          });
          return z.NEVER;
        }
        return algs as JwtAlgorithm[];
      }),
    /** Required `iss` of launch tokens. */
    JWT_ISSUER: z.string().optional(),
    /** Required `aud` of launch tokens. */
    JWT_AUDIENCE: z.string().default('mozaiks-runtime'),
    /** Show the launch token's custom claims to the agents as context. */
    CONTEXT_AWARE: bool(false),
    /** Publish priced usage to the billing subjects (usage is always measured and sent to the client). */
    MONETIZATION_ENABLED: bool(true),
    /** Serve the web console at /console: on in `npm start`, off in the gateway service unless set. */
    CONSOLE_ENABLED: EnvBoolean.optional(),
    /** Webhook endpoints (comma-separated) each usage event is POSTed to, signed as Standard Webhooks. */
    USAGE_WEBHOOK_URL: z
      .string()
      .optional()
      .transform((v, ctx) => {
        const urls = (v ?? '')
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean);
        const bad = urls.filter((u) => !URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol));
        if (bad.length) {
          ctx.addIssue({
            code: 'custom',
            message: `must be http(s) URLs, comma-separated (got ${bad.map((u) => JSON.stringify(u.slice(0, 80))).join(', ')})`,
          });
          return z.NEVER;
        }
        return [...new Set(urls)];
      }),
    /** The signing secret of the webhooks: `whsec_` and base64 of at least 24 bytes. */
    USAGE_WEBHOOK_SECRET: z
      .string()
      .optional()
      .refine(
        (s) =>
          s === undefined || (/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s.slice(6), 'base64').length >= 24),
        { message: 'must be whsec_ followed by the base64 of at least 24 random bytes' },
      ),
    /** Seconds one webhook attempt may take before it counts as failed (and is retried). */
    USAGE_WEBHOOK_TIMEOUT_SECONDS: number('must be a number of seconds').positive().default(10),
    /** Deliveries in flight per webhook endpoint, per usage-emitter. */
    USAGE_WEBHOOK_CONCURRENCY: number('must be a whole number').int().min(1).default(8),
    /** Longest wait between two attempts of a webhook; the waits double up to it, jittered. */
    USAGE_WEBHOOK_BACKOFF_MAX_SECONDS: number('must be a number of seconds').min(1).max(3600).default(300),
    /** Hours an event is retried for, from its run's end, before it is dead-lettered. */
    USAGE_WEBHOOK_RETRY_HOURS: number('must be a number of hours')
      .min(24, 'must be at least 24 (a receiver may be down for a day)')
      .max(30 * 24, 'must be at most 720: the usage stream keeps 30 days')
      .default(72),
    /** trace, debug, info, warn (warning), error, fatal (critical), silent; any case. */
    LOG_LEVEL: z
      .string()
      .default('info')
      .refine((l) => LOG_LEVELS.includes(l.toLowerCase()), { message: `must be one of ${LOG_LEVELS.join(', ')}` })
      .transform((l) => l.toLowerCase()),
    /** Folder holding one folder per workflow. */
    WORKFLOWS_DIR: z.string().default('./workflows'),
    /** Folder for the embedded store (SQLite). */
    DATA_DIR: z.string().default('./.data'),
    /** First token of every bus subject. */
    SUBJECT_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'must be one subject token: letters, digits, "_" or "-"')
      .default('mozaiks'),
    /** NATS server(s), comma-separated: selects the distributed services' bus. */
    NATS_URL: z.string().optional(),
    /** Seconds an executor has to acknowledge a run request before another may take it; kept alive while it works. */
    RUN_ACK_WAIT_SECONDS: number('must be a number of seconds').positive().default(30),
    /** Chats one executor serves at once; more wait in the run queue for this or another executor. */
    EXECUTOR_CONCURRENCY: number('must be a whole number').int().min(1).default(5000),
    /** Runs of one app in flight on one executor; more wait their turn (never refused); 0: no cap but EXECUTOR_CONCURRENCY. */
    EXECUTOR_MAX_RUNS_PER_APP: number('must be a whole number').int().min(0).default(0),
    /** Seconds a chat's lease lasts unrenewed: how soon another executor continues a dead one's run. */
    CHAT_LEASE_SECONDS: number('must be a number of seconds').positive().default(15),
    /** Seconds a stopping service lets work in flight finish before handing it back. */
    SHUTDOWN_GRACE_SECONDS: number('must be a number of seconds').nonnegative().default(25),
    /** Seconds one tool call may run; a call may wait as long again for a free slot. */
    TOOL_TIMEOUT_SECONDS: number('must be a number of seconds').positive().default(30),
    /** Tool calls one tool-runner runs at once; more wait in its queue. */
    TOOL_CONCURRENCY: number('must be a whole number').int().min(1).default(8),
    /** Tool calls one app may run at once on a tool-runner, so other apps always find a slot; by default half of TOOL_CONCURRENCY. */
    TOOL_CONCURRENCY_PER_APP: number('must be a whole number').int().min(1).optional(),
    /** Tool calls that may wait on one tool-runner; more are refused with tool_busy. */
    TOOL_QUEUE_LIMIT: number('must be a whole number').int().min(0).default(1000),
    /** Memory one tool worker process may use, in MiB. */
    TOOL_MEMORY_MB: number('must be a number of MiB').int().min(32).default(256),
    /** Calls a warm tool worker serves before it is replaced by a fresh one. */
    TOOL_WORKER_MAX_CALLS: number('must be a whole number').int().min(1).default(100),
    /** Idle tool workers one tool-runner keeps warm, over all apps and workflows; the least recently used go first. */
    TOOL_IDLE_WORKERS: number('must be a whole number').int().min(0).default(16),
    /** Seconds an idle tool worker is kept warm. */
    TOOL_WORKER_IDLE_SECONDS: number('must be a number of seconds').positive().default(60),
    /** Python interpreter for .py tools. */
    TOOL_PYTHON: z.string().min(1).default('python3'),
    /** Largest WebSocket frame a client may send, in bytes. */
    MAX_MESSAGE_BYTES: number('must be a number of bytes')
      .int()
      .min(1024)
      .default(1024 * 1024),
    /** Bytes the gateway holds for one socket that reads too slowly, before closing it with 4008. */
    WS_MAX_BUFFERED_BYTES: number('must be a number of bytes')
      .int()
      .min(64 * 1024)
      .default(8 * 1024 * 1024),
    /** Sockets one user (app and user) may hold open on one gateway; 0: no limit. Beyond it, HTTP 429 too_many_connections. */
    WS_MAX_CONNECTIONS_PER_USER: number('must be a whole number').int().min(0).default(0),
    /** Sockets one app may hold open on one gateway; 0: no limit. Beyond it, HTTP 429 too_many_connections. */
    WS_MAX_CONNECTIONS_PER_APP: number('must be a whole number').int().min(0).default(0),
    /** Messages one user (app and user) may send per minute on one gateway (a token bucket); 0: no limit. */
    USER_MESSAGES_PER_MINUTE: number('must be a whole number').int().min(0).default(0),
    /** A message sent while the chat's run is going: `enqueue` (runs after it), `reject` (run_in_progress), `interrupt` (cancels it). */
    DOUBLE_TEXTING: z
      .enum(['enqueue', 'reject', 'interrupt'], { error: 'must be enqueue, reject or interrupt' })
      .default('enqueue'),
  })
  .transform(({ OPENAI_BASE_URL, ...c }) => ({ ...c, OPENAI_API_BASE: c.OPENAI_API_BASE ?? OPENAI_BASE_URL }));
export type RuntimeConfig = z.infer<typeof RuntimeConfig>;

/**
 * Rules across variables, checked on the raw values so they are reported together with any
 * problem of a single variable (zod skips refinements of an object with an invalid field).
 */
function crossFieldProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.OPENAI_API_BASE && env.OPENAI_BASE_URL && env.OPENAI_API_BASE !== env.OPENAI_BASE_URL) {
    problems.push('OPENAI_API_BASE: differs from OPENAI_BASE_URL; set one of them');
  }
  if (env.JWT_PUBLIC_KEY && env.JWT_JWKS_URL)
    problems.push('JWT_JWKS_URL: set JWT_PUBLIC_KEY or JWT_JWKS_URL, not both');
  if (env.NATS_URL && !env.NATS_URL.split(',').every((u) => /^(nats|tls|ws|wss):\/\/\S+$/.test(u.trim()))) {
    problems.push('NATS_URL: must be nats:// URLs, comma-separated');
  }
  if (env.USAGE_WEBHOOK_URL?.trim() && !env.USAGE_WEBHOOK_SECRET)
    problems.push('USAGE_WEBHOOK_SECRET: is required with USAGE_WEBHOOK_URL: receivers verify each webhook with it');
  if (env.USAGE_WEBHOOK_URL?.trim() && /^(false|0|no|off)$/i.test(env.MONETIZATION_ENABLED ?? '')) {
    problems.push(
      'USAGE_WEBHOOK_URL: needs MONETIZATION_ENABLED=true: webhooks deliver the usage events published for billing',
    );
  }
  for (const alg of (env.JWT_ALGORITHMS ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)) {
    if (alg.startsWith('HS') && !env.JWT_SECRET) problems.push(`JWT_ALGORITHMS: ${alg} needs JWT_SECRET`);
    if (/^(RS|PS|ES|Ed)/.test(alg) && !env.JWT_PUBLIC_KEY && !env.JWT_JWKS_URL)
      problems.push(`JWT_ALGORITHMS: ${alg} needs JWT_PUBLIC_KEY or JWT_JWKS_URL`);
  }
  return problems;
}

/** A configuration that cannot start the runtime; `problems` names each bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Names of the variables whose values are secrets, for log scrubbing. */
export const SECRET_VARIABLES = ['OPENAI_API_KEY', 'JWT_SECRET', 'MONGODB_URI', 'USAGE_WEBHOOK_SECRET'] as const;

/** The configuration's secret values (those set), which no log line may show. */
export function secretValues(config: RuntimeConfig): string[] {
  return SECRET_VARIABLES.flatMap((name) => (config[name] ? [config[name]] : []));
}

/**
 * Reads and validates the configuration from the environment and `.env`.
 * @throws ConfigError listing every problem, not just the first.
 */
export function loadRuntimeConfig(env?: Env, envFile?: string): RuntimeConfig {
  const values = readEnv(env, envFile);
  const parsed = RuntimeConfig.safeParse(values);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`)),
    ...crossFieldProblems(values),
  ];
  if (parsed.success && problems.length === 0) return parsed.data;
  throw new ConfigError(problems);
}
