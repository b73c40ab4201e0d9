// The durable streams the bus is given: made (or brought up to date) at connect, and the one that
// holds a subject found when it is published to or consumed from.
import { JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { subjectMatches } from '../bus.js';
import type { StreamSpec } from '../bus.js';
import { nanos } from './codec.js';

/** Makes the stream as specified, or brings an existing one up to date. */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  const config: Partial<StreamConfig> & { name: string } = {
    name: spec.name,
    subjects: spec.subjects,
    retention: spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    ...(spec.maxMsgsPerSubject ? { max_msgs_per_subject: spec.maxMsgsPerSubject } : {}),
  };
  try {
    await jsm.streams.info(spec.name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
      await jsm.streams.add(config);
      return;
    }
    throw error;
  }
  await jsm.streams.update(spec.name, config);
}

/** The stream that holds every subject `filter` matches, if any. */
export function streamHolding(streams: readonly StreamSpec[], filter: string): StreamSpec | undefined {
  return streams.find((s) => s.subjects.some((p) => covers(p, filter)));
}

/** Whether a message on `subject` is stored by one of the streams. */
export function isDurable(streams: readonly StreamSpec[], subject: string): boolean {
  return streams.some((s) => s.subjects.some((p) => subjectMatches(p, subject)));
}

/** Whether every subject matched by `filter` is matched by the stream subject `pattern`. */
function covers(pattern: string, filter: string): boolean {
  return subjectMatches(pattern, filter.replace(/\*/g, 'x').replace(/>$/, 'x'));
}
