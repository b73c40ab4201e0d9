// The executor and its LLM client as the configuration describes them: the configured endpoint,
// or, with none, the local demo endpoint (started here and announced loudly).
import { ChatAdmin } from '@mozaiks/chat-admin';
import type { Bus } from '@mozaiks/bus';
import type { LlmCallOptions, LlmClient, LlmRequest, LlmResponse } from '@mozaiks/engine';
import { OpenAiLlmClient, PriceTable, startDemoLlm } from '@mozaiks/llm';
import { subjects } from '@mozaiks/protocol';
import type { ChatStores } from '@mozaiks/store';
import type { ChatCompletionsServer } from '@mozaiks/llm';
import type { RuntimeConfig } from '@mozaiks/config';
import { SpanKind, captureMessageContent, startSpan } from '@mozaiks/telemetry';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';
import { startChatRetention } from './chat-retention.js';
import { Executor } from './executor.js';
import { executorMetrics } from './metrics.js';

export interface ConfiguredLlm {
  llm: OpenAiLlmClient;
  /** The demo endpoint, when one was started; close it on stop. */
  demo?: ChatCompletionsServer;
}

export async function llmFromConfig(config: RuntimeConfig, logger: Logger): Promise<ConfiguredLlm> {
  const demo = !config.OPENAI_API_KEY && !config.OPENAI_API_BASE ? await startDemoLlm() : undefined;
  if (demo) {
    logger.warn(
      { llm_base_url: demo.url },
      'OPENAI_API_KEY is not set: agents answer from the built-in DEMO LLM endpoint (canned replies). Set OPENAI_API_KEY to use a real model.',
    );
  }
  const baseURL = demo?.url ?? config.OPENAI_API_BASE;
  const llm = new OpenAiLlmClient({
    apiKey: demo ? 'demo' : (config.OPENAI_API_KEY ?? 'none'),
    ...(baseURL ? { baseURL } : {}),
    defaultModel: config.DEFAULT_MODEL,
    timeoutMs: config.LLM_TIMEOUT_SECONDS * 1000,
    maxRetries: config.LLM_MAX_RETRIES,
    streaming: config.LLM_STREAMING,
  });
  return { llm, ...(demo ? { demo } : {}) };
}

/** What the executor is built from besides its configuration. */
export interface ExecutorParts {
  bus: Bus;
  stores: ChatStores;
  llm: LlmClient;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Where context variables with an `env_var` read their first value. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The executor as the configuration describes it: the same in its own process and in standalone. */
export function executorFromConfig(config: RuntimeConfig, parts: ExecutorParts): Executor {
  return new Executor({
    bus: parts.bus,
    llm: countedLlm(parts.llm, parts.metrics, config.DEFAULT_MODEL),
    metrics: parts.metrics,
    logger: parts.logger,
    log: parts.stores.log,
    inbox: parts.stores.inbox,
    versions: parts.stores.versions,
    prices: new PriceTable(config.MODEL_PRICES),
    subjects: subjects(config.SUBJECT_PREFIX),
    workflowsDir: config.WORKFLOWS_DIR,
    contextAware: config.CONTEXT_AWARE,
    toolTimeoutMs: config.TOOL_TIMEOUT_SECONDS * 1000,
    leaseMs: config.CHAT_LEASE_SECONDS * 1000,
    shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
    concurrency: config.EXECUTOR_CONCURRENCY,
    maxRunsPerApp: config.EXECUTOR_MAX_RUNS_PER_APP,
    ...(parts.env ? { env: parts.env } : {}),
  });
}

/**
 * `llm` with every call counted in llm_calls_total, timed in llm_call_duration_seconds, and traced
 * as an OpenTelemetry GenAI `chat` span (model and token counts; the messages only when
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true).
 */
export function countedLlm(
  llm: LlmClient,
  metrics: RuntimeMetrics,
  defaultModel: string,
  captureContent = captureMessageContent(),
): LlmClient {
  return {
    async complete(request: LlmRequest, options?: LlmCallOptions): Promise<LlmResponse> {
      const model = request.model ?? defaultModel;
      const end = executorMetrics(metrics).llmDuration.startTimer({ model });
      const span = startSpan(`chat ${model}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': model,
          ...(request.temperature === undefined ? {} : { 'gen_ai.request.temperature': request.temperature }),
          ...(request.max_tokens === undefined ? {} : { 'gen_ai.request.max_tokens': request.max_tokens }),
          ...(captureContent ? { 'gen_ai.input.messages': JSON.stringify(request.messages) } : {}),
        },
      });
      try {
        const response = await llm.complete(request, options);
        executorMetrics(metrics).llmCalls.inc({ model, outcome: 'ok' });
        span.end({
          'gen_ai.response.model': response.usage.model,
          'gen_ai.usage.input_tokens': response.usage.prompt_tokens,
          'gen_ai.usage.output_tokens': response.usage.completion_tokens,
          ...(captureContent
            ? {
                'gen_ai.output.messages': JSON.stringify([
                  { role: 'assistant', content: response.content, tool_calls: response.tool_calls },
                ]),
              }
            : {}),
        });
        return response;
      } catch (error) {
        executorMetrics(metrics).llmCalls.inc({ model, outcome: options?.signal?.aborted ? 'cancelled' : 'error' });
        span.fail(error);
        throw error;
      } finally {
        end();
      }
    },
  };
}

/** Erases chats past CHAT_RETENTION_DAYS every hour (chat-retention.ts); returns what stops it. */
export function startChatRetentionFromConfig(
  config: RuntimeConfig,
  parts: Pick<ExecutorParts, 'bus' | 'stores' | 'logger' | 'metrics'>,
): () => void {
  if (config.CHAT_RETENTION_DAYS <= 0) return () => {};
  const admin = new ChatAdmin({
    ...parts.stores,
    bus: parts.bus,
    subjects: subjects(config.SUBJECT_PREFIX),
    logger: parts.logger,
    metrics: parts.metrics,
    // A run going is given its executor's lease time (twice) to stop.
    releaseWaitMs: config.CHAT_LEASE_SECONDS * 2000,
  });
  return startChatRetention({
    admin,
    catalog: parts.stores.catalog,
    days: config.CHAT_RETENTION_DAYS,
    logger: parts.logger,
  });
}
