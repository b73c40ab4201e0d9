// `npm run tool-runner`: the tool-runner service's composition root. Answers tool requests from
// NATS (queue group `tool-runner`) with tool code run in sandboxed workers; ops endpoints on PORT (8002).
import { runService } from '@mozaiks/service';
import { toolRunnerFromConfig } from './tool-runner-options.js';

runService('tool-runner', { defaultPort: 8002 }, async ({ config, logger, metrics, bus }) => {
  // Tools receive only the variables they declare, taken from this process's environment.
  const runner = toolRunnerFromConfig(config, { bus, logger, metrics, toolEnv: process.env });
  runner.start();
  return { stop: () => runner.stop() };
});
