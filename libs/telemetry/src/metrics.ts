// The Prometheus metric families the runtime exposes on /metrics, on a registry the caller owns.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class RuntimeMetrics {
  readonly registry: Registry;
  /** Executions by workflow and outcome (`completed` or `failed`). */
  readonly workflowExecutions: Counter<'workflow_id' | 'status'>;
  /** Wall time of one execution, from request taken to `workflow_complete`. */
  readonly workflowDuration: Histogram<'workflow_id'>;
  /** Tokens reported by the LLM endpoint, by tenant. */
  readonly tokenUsage: Counter<'user_id' | 'app_id'>;
  /** Open client WebSockets on this process. */
  readonly websocketConnections: Gauge;
  /** Tool calls by workflow and outcome (`ok` or the error code). */
  readonly toolCalls: Counter<'workflow_id' | 'outcome'>;
  /** Wall time of one tool call on the runner, queueing included. */
  readonly toolDuration: Histogram<'workflow_id'>;
  /** Tool calls running and waiting for a slot on this tool-runner. */
  readonly toolCallsActive: Gauge<'state'>;
  /** Tool worker processes of this tool-runner, idle and busy. */
  readonly toolWorkers: Gauge<'state'>;
  /** 1 while this process is ready for work (what /ready says), else 0; labelled with its service. */
  readonly ready: Gauge<'service'>;
  /** LLM calls by model and outcome (`ok`, `error`, `cancelled`), each counted once after its retries. */
  readonly llmCalls: Counter<'model' | 'outcome'>;
  /** Wall time of one LLM call, retries included. */
  readonly llmDuration: Histogram<'model'>;
  /** Run requests waiting in the JetStream run queue for an executor (the executors' consumer's pending count). */
  readonly runQueuePending: Gauge;
  /** Chats an executor is serving now (each runs its inputs one at a time): its share of EXECUTOR_CONCURRENCY. */
  readonly runsInFlight: Gauge;
  /** Priced usage that could not be published to the billing subjects (each attempt; the record is retried). */
  readonly usagePublishFailures: Counter;
  /** Usage events a webhook endpoint accepted (2xx), by endpoint host. */
  readonly usageWebhookDeliveries: Counter<'sink'>;
  /** Failed webhook attempts that will be retried, by endpoint host and why (status code, `timeout`, `connection`). */
  readonly usageWebhookRetries: Counter<'sink' | 'reason'>;
  /** Usage events a webhook endpoint will not be sent again until a replay, by endpoint host. */
  readonly usageWebhookDeadLetters: Counter<'sink'>;
  /** From a run's usage event to its endpoint's 2xx, retries included. */
  readonly usageWebhookLatency: Histogram<'sink'>;

  private probes:
    { service: string; ready: () => boolean; runQueuePending?: () => Promise<number | undefined> } | undefined;

  constructor(options: { registry?: Registry; processMetrics?: boolean } = {}) {
    const metrics = this;
    this.registry = options.registry ?? new Registry();
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.workflowExecutions = new Counter({
      name: 'workflow_executions_total',
      help: 'Workflow executions, by workflow and outcome.',
      labelNames: ['workflow_id', 'status'],
      registers: [this.registry],
    });
    this.workflowDuration = new Histogram({
      name: 'workflow_duration_seconds',
      help: 'Duration of workflow executions in seconds.',
      labelNames: ['workflow_id'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [this.registry],
    });
    this.tokenUsage = new Counter({
      name: 'token_usage_total',
      help: 'LLM tokens used, as reported by the endpoint, by tenant.',
      labelNames: ['user_id', 'app_id'],
      registers: [this.registry],
    });
    this.websocketConnections = new Gauge({
      name: 'websocket_connections_active',
      help: 'Client WebSocket connections open on this process.',
      registers: [this.registry],
    });
    this.toolCalls = new Counter({
      name: 'tool_calls_total',
      help: 'Tool calls answered by this tool-runner, by workflow and outcome (ok or the error code).',
      labelNames: ['workflow_id', 'outcome'],
      registers: [this.registry],
    });
    this.toolDuration = new Histogram({
      name: 'tool_call_duration_seconds',
      help: 'Duration of tool calls on the tool-runner in seconds, waiting for a slot included.',
      labelNames: ['workflow_id'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.toolCallsActive = new Gauge({
      name: 'tool_calls_active',
      help: 'Tool calls on this tool-runner, by state: running, or waiting for a slot.',
      labelNames: ['state'],
      registers: [this.registry],
    });
    this.toolWorkers = new Gauge({
      name: 'tool_workers',
      help: 'Tool worker processes of this tool-runner, by state: idle (warm) or busy.',
      labelNames: ['state'],
      registers: [this.registry],
    });
    this.ready = new Gauge({
      name: 'runtime_ready',
      help: '1 while this process is ready for work (its /ready answers 200), else 0.',
      labelNames: ['service'],
      registers: [this.registry],
      collect() {
        const probes = metrics.probes;
        if (probes) this.set({ service: probes.service }, probes.ready() ? 1 : 0);
      },
    });
    this.llmCalls = new Counter({
      name: 'llm_calls_total',
      help: 'LLM calls by model and outcome (ok, error or cancelled), counted once after retries.',
      labelNames: ['model', 'outcome'],
      registers: [this.registry],
    });
    this.llmDuration = new Histogram({
      name: 'llm_call_duration_seconds',
      help: 'Duration of LLM calls in seconds, retries included.',
      labelNames: ['model'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 120],
      registers: [this.registry],
    });
    this.runQueuePending = new Gauge({
      name: 'run_queue_pending',
      help: 'Run requests waiting in the JetStream run queue for an executor to take them (executors only).',
      registers: [],
      async collect() {
        const pending = await metrics.probes?.runQueuePending?.().catch(() => undefined);
        if (pending !== undefined) this.set(pending);
      },
    });
    this.runsInFlight = new Gauge({
      name: 'runs_in_flight',
      help: 'Chats this executor is serving now (executors only; bounded by EXECUTOR_CONCURRENCY).',
      registers: [],
    });
    this.usagePublishFailures = new Counter({
      name: 'usage_publish_failures_total',
      help: 'Attempts to publish priced usage to the billing subjects that failed (the record is retried from the metering stream).',
      registers: [this.registry],
    });
    this.usageWebhookDeliveries = new Counter({
      name: 'usage_webhook_deliveries_total',
      help: 'Usage events a webhook endpoint accepted with a 2xx, by endpoint host.',
      labelNames: ['sink'],
      registers: [this.registry],
    });
    this.usageWebhookRetries = new Counter({
      name: 'usage_webhook_retries_total',
      help: 'Webhook attempts that failed and will be retried, by endpoint host and reason (HTTP status, timeout, connection).',
      labelNames: ['sink', 'reason'],
      registers: [this.registry],
    });
    this.usageWebhookDeadLetters = new Counter({
      name: 'usage_webhook_dead_letters_total',
      help: 'Usage events dead-lettered by a webhook endpoint (a 4xx other than 408 and 429, or retries past USAGE_WEBHOOK_RETRY_HOURS).',
      labelNames: ['sink'],
      registers: [this.registry],
    });
    this.usageWebhookLatency = new Histogram({
      name: 'usage_webhook_delivery_seconds',
      help: "From a run's usage event to its webhook endpoint's 2xx, retries included.",
      labelNames: ['sink'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400],
      registers: [this.registry],
    });
  }

  /**
   * Gauges read when /metrics is scraped: readiness of `service`, and (executors) the run queue's
   * backlog, which `pending` reads from NATS.
   */
  observe(
    service: string,
    probes: { ready: () => boolean; runQueuePending?: () => Promise<number | undefined> },
  ): void {
    this.probes = { service, ...probes };
    // Only a process that reads the queue reports it: a 0 from any other would be a false reading.
    if (probes.runQueuePending && !this.registry.getSingleMetric('run_queue_pending'))
      this.registry.registerMetric(this.runQueuePending);
  }

  /** Exposes runs_in_flight: called by a process that runs an executor (its own, or standalone). */
  exposeRunsInFlight(): void {
    if (!this.registry.getSingleMetric('runs_in_flight')) this.registry.registerMetric(this.runsInFlight);
  }

  /** The exposition text for /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
