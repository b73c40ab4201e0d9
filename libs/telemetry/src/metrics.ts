// The Prometheus registry a process serves on /metrics, with what every process exposes: the
// guide's four metric families (the contract) and readiness. Each service declares its own
// families on it (see `declare`), so the standalone runtime, which runs them all, has each once.
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
  /** 1 while this process is ready for work (what /ready says), else 0; labelled with its service. */
  readonly ready: Gauge<'service'>;
  private readiness: { service: string; ready: () => boolean } | undefined;
  private readonly declared = new Map<string, unknown>();

  constructor(options: { registry?: Registry; processMetrics?: boolean } = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.workflowExecutions = new Counter({
      name: 'workflow_executions_total',
      help: 'Workflow executions, by workflow and outcome.',
      labelNames: ['workflow_id', 'status'],
      registers,
    });
    this.workflowDuration = new Histogram({
      name: 'workflow_duration_seconds',
      help: 'Duration of workflow executions in seconds.',
      labelNames: ['workflow_id'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.tokenUsage = new Counter({
      name: 'token_usage_total',
      help: 'LLM tokens used, as reported by the endpoint, by tenant.',
      labelNames: ['user_id', 'app_id'],
      registers,
    });
    this.websocketConnections = new Gauge({
      name: 'websocket_connections_active',
      help: 'Client WebSocket connections open on this process.',
      registers,
    });
    const readiness = () => this.readiness;
    this.ready = new Gauge({
      name: 'runtime_ready',
      help: '1 while this process is ready for work (its /ready answers 200), else 0.',
      labelNames: ['service'],
      registers,
      collect() {
        const probe = readiness();
        if (probe) this.set({ service: probe.service }, probe.ready() ? 1 : 0);
      },
    });
  }

  /**
   * A service's own metric families, made on this registry by `make` the first time `key` is
   * asked for and shared after: a process that runs several services (or asks twice) has each
   * family once.
   */
  declare<T>(key: string, make: (registry: Registry) => T): T {
    if (!this.declared.has(key)) this.declared.set(key, make(this.registry));
    return this.declared.get(key) as T;
  }

  /** Readiness of `service`, read when /metrics is scraped. */
  observe(service: string, probes: { ready: () => boolean }): void {
    this.readiness = { service, ready: probes.ready };
  }

  /** The exposition text for /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
