// `npm run usage-emitter`: the usage-emitter service's composition root. Delivers each run's
// priced usage from NATS to the billing subjects; ops endpoints on PORT (8003).
import { runService } from '@mozaiks/service';
import { usageEmitterFromConfig } from './usage-emitter.js';

runService('usage-emitter', { defaultPort: 8003 }, async ({ config, logger, metrics, bus }) => {
  const emitter = usageEmitterFromConfig(config, { bus, logger, metrics });
  await emitter.start();
  return { stop: () => emitter.stop() };
});
