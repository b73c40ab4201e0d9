// `npm run tool-runner`: the tool-runner service's composition root. Answers tool requests from
// NATS (queue group `tool-runner`) with tool code run in sandboxed workers; ops endpoints on PORT (8002).
import { subjects } from '@mozaiks/protocol';
import { runService } from '@mozaiks/service';
import { ToolRunner, toolRunnerLimits } from './tool-runner.js';

runService('tool-runner', { defaultPort: 8002 }, async ({ config, logger, metrics, bus }) => {
  const runner = new ToolRunner({
    bus,
    subjects: subjects(config.SUBJECT_PREFIX),
    workflowsDir: config.WORKFLOWS_DIR,
    logger,
    metrics,
    // Tools receive only the variables they declare, taken from here.
    toolEnv: process.env,
    python: config.TOOL_PYTHON,
    shutdownGraceMs: config.SHUTDOWN_GRACE_SECONDS * 1000,
    limits: toolRunnerLimits(config),
  });
  runner.start();
  return { stop: () => runner.stop() };
});
