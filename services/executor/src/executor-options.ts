// The executor's options, and the same with every default filled in, resolved once when the
// executor is made: everything after reads the filled type.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Bus } from '@mozaiks/bus';
import type { LlmClient } from '@mozaiks/engine';
import { PriceTable } from '@mozaiks/llm';
import type { Subjects } from '@mozaiks/protocol';
import type { ChatInbox, ChatLog, WorkflowVersionStore } from '@mozaiks/store';
import type { Logger, RuntimeMetrics } from '@mozaiks/telemetry';

export interface ExecutorOptions {
  bus: Bus;
  /** Chats' histories: read when a run starts, appended as it goes. */
  log: ChatLog;
  /** Chats' work: pending inputs, leases, the usage outbox. */
  inbox: ChatInbox;
  /** Workflow versions: stored when first loaded here, read for chats pinned to one this host's files are not. */
  versions: WorkflowVersionStore;
  llm: LlmClient;
  /** Prices of the models, for each run's usage event (MODEL_PRICES). @default list prices */
  prices?: PriceTable;
  subjects: Subjects;
  workflowsDir: string;
  logger: Logger;
  metrics: RuntimeMetrics;
  /** Show the token's custom claims to the agents (CONTEXT_AWARE). @default false */
  contextAware?: boolean;
  /** Time a tool may take unless its workflow says otherwise. @default 30000 */
  toolTimeoutMs?: number;
  /** How long a chat's lease lasts without renewal; another executor takes over after it. @default 15000 */
  leaseMs?: number;
  /** How long `stop` lets runs finish before handing them back. @default 25000 */
  shutdownGraceMs?: number;
  /** This executor's name as a lease holder. @default host, pid and a random suffix */
  id?: string;
  /**
   * How often to look for chats with work nobody announced or holds (a gateway that died between
   * storing a message and publishing its request). @default 60000
   */
  sweepIntervalMs?: number;
  /** Where context variables with an `env_var` read their first value. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Chats served at once; more wait in the run queue (for this or another executor). @default 5000 */
  concurrency?: number;
  /** Chats of one app served at once here; more wait their turn (EXECUTOR_MAX_RUNS_PER_APP). @default 0: no cap */
  maxRunsPerApp?: number;
  /** Chats whose last writer this process keeps, to read only what is new when they next run here. @default 1000 */
  writerCacheSize?: number;
}

export type ExecutorOptionsWithDefaults = Required<ExecutorOptions>;

/** The options with their defaults filled in. */
export function executorOptionsWithDefaults(options: ExecutorOptions): ExecutorOptionsWithDefaults {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ExecutorOptions;
  return {
    prices: new PriceTable(),
    contextAware: false,
    toolTimeoutMs: 30_000,
    leaseMs: 15_000,
    shutdownGraceMs: 25_000,
    id: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    sweepIntervalMs: 60_000,
    env: process.env,
    concurrency: 5000,
    maxRunsPerApp: 0,
    writerCacheSize: 1000,
    ...given,
  };
}
