// The executor's LLM client as the configuration describes it: the configured endpoint, or, with
// none, the local demo endpoint (started here and announced loudly).
import { OpenAiLlmClient, startDemoLlm } from '@mozaiks/llm';
import type { ChatCompletionsServer } from '@mozaiks/llm';
import type { RuntimeConfig } from '@mozaiks/config';
import type { Logger } from '@mozaiks/telemetry';

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
