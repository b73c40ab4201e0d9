// The NATS connection the configuration names (NATS_URL, SUBJECT_PREFIX), with the runtime's
// streams, as the commands that read or change them open it: no server answering is a
// configuration error naming the setting.
import type { NatsBus } from '@mozaiks/bus';
import { errorMessage } from '@mozaiks/common';
import { ConfigError } from '@mozaiks/config';
import type { RuntimeConfig } from '@mozaiks/config';
import { connectRuntimeBus } from '@mozaiks/service';

/** @throws ConfigError when no NATS server answers at NATS_URL. */
export async function connectConfiguredBus(config: RuntimeConfig & { NATS_URL: string }): Promise<NatsBus> {
  try {
    return await connectRuntimeBus({
      servers: config.NATS_URL,
      prefix: config.SUBJECT_PREFIX,
      service: 'cli',
      ackWaitMs: 30_000,
      onError: () => undefined,
      failFast: true,
    });
  } catch (error) {
    throw new ConfigError([`NATS_URL: no NATS server answered at ${config.NATS_URL} (${errorMessage(error)})`]);
  }
}
