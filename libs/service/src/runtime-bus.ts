// The runtime's topology on NATS, wired here for every service: which of the protocol's subjects
// are durable (a JetStream stream each, with its retention and age), the key-value bucket of
// tool results, and a service's connection with all of it in place.
import { NatsBus } from '@mozaiks/bus';
import type { NatsBusOptions, StreamSpec } from '@mozaiks/bus';
import { DEFAULT_SUBJECT_PREFIX } from '@mozaiks/protocol';

const day = 24 * 3600_000;

/** Stream names are the prefix upper-cased, with what a stream name cannot hold replaced. */
function streamPrefix(prefix: string): string {
  return prefix.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** The streams that make nudges, metering and billing durable, for subjects under `prefix`. */
export function runtimeStreams(prefix: string = DEFAULT_SUBJECT_PREFIX): StreamSpec[] {
  const name = streamPrefix(prefix);
  return [
    {
      name: `${name}_RUNS`,
      subjects: [`${prefix}.run.>`],
      retention: 'workqueue',
      maxAgeMs: 7 * day,
      duplicateWindowMs: 120_000,
    },
    {
      name: `${name}_METERING`,
      subjects: [`${prefix}.metering.>`],
      retention: 'workqueue',
      maxAgeMs: 30 * day,
      duplicateWindowMs: 120_000,
    },
    {
      name: `${name}_USAGE`,
      subjects: [`${prefix}.usage.>`],
      retention: 'limits',
      maxAgeMs: 30 * day,
      duplicateWindowMs: 10 * 60_000,
    },
    // What a webhook sink could not deliver, until a replay delivers it (then it is purged).
    {
      name: `${name}_USAGE_DEAD`,
      subjects: [`${prefix}.usage_dead.>`],
      retention: 'limits',
      maxAgeMs: 30 * day,
      duplicateWindowMs: 60_000,
      maxMsgsPerSubject: 1,
    },
  ];
}

/** The key-value bucket where a tool call's result is kept, so a repeated request gets it instead of a second run. */
export function onceBucketName(prefix: string = DEFAULT_SUBJECT_PREFIX): string {
  return `${streamPrefix(prefix)}_ONCE`;
}

/** Connects a runtime service to NATS with the runtime's streams for `prefix`. */
export function connectRuntimeBus(options: {
  servers: string;
  prefix: string;
  service: string;
  ackWaitMs: number;
  onError: (error: unknown, subject: string) => void;
  onStatus?: NatsBusOptions['onStatus'];
  failFast?: boolean;
}): Promise<NatsBus> {
  return NatsBus.connect({
    servers: options.servers.split(',').map((s) => s.trim()),
    name: `mozaiks-${options.service}`,
    streams: runtimeStreams(options.prefix),
    onceBucket: onceBucketName(options.prefix),
    ackWaitMs: options.ackWaitMs,
    onError: options.onError,
    ...(options.onStatus ? { onStatus: options.onStatus } : {}),
    ...(options.failFast ? { failFast: true } : {}),
  });
}
