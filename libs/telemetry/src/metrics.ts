// The Prometheus registry a process serves on /metrics, with what every process exposes: the
// guide's four metric families (the contract) and readiness. Each service declares its own
// families on it (see `declare`), so the standalone runtime, which runs them all, has each once.
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { MetricFamilies } from './metric-families.js';

export class RuntimeMetrics {
  readonly registry: Registry;
  /** Executions by workflow and outcome (`completed` or `failed`). */
  readonly workflowExecutions: Counter<'workflow_id' | 'workflow_version' | 'status'>;
  /** Wall time of one execution, from request taken to `workflow_complete`. */
  readonly workflowDuration: Histogram<'workflow_id' | 'workflow_version'>;
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
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const families = new MetricFamilies(this.registry);
    this.workflowExecutions = families.counter(
      'workflow_executions_total',
      'Workflow executions, by workflow, workflow version and outcome.',
      ['workflow_id', 'workflow_version', 'status'],
    );
    this.workflowDuration = families.histogram(
      'workflow_duration_seconds',
      'Duration of workflow executions in seconds.',
      ['workflow_id', 'workflow_version'],
      [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    );
    this.tokenUsage = families.counter(
      'token_usage_total',
      'LLM tokens used, as reported by the endpoint, by tenant.',
      ['user_id', 'app_id'],
    );
    this.websocketConnections = families.gauge(
      'websocket_connections_active',
      'Client WebSocket connections open on this process.',
    );
    this.ready = families.gauge(
      'runtime_ready',
      '1 while this process is ready for work (its /ready answers 200), else 0.',
      ['service'],
      (gauge) => {
        const probe = this.readiness;
        if (probe) gauge.set({ service: probe.service }, probe.ready() ? 1 : 0);
      },
    );
  }

  /**
   * A service's own metric families, made on this registry by `make` the first time `key` is
   * asked for and shared after: a process that runs several services (or asks twice) has each
   * family once.
   */
  declare<T>(key: string, make: (families: MetricFamilies) => T): T {
    if (!this.declared.has(key)) this.declared.set(key, make(new MetricFamilies(this.registry)));
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
