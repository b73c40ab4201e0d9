// `npm run tool-runner`: the tool-runner service's composition root. Answers tool requests from
// NATS (queue group `tool-runner`) with tool code run out of process; ops endpoints on PORT (8002).
import { subjects } from '@mozaiks/protocol';
import { runService } from '@mozaiks/service';
import { ToolRunner } from './tool-runner.js';

runService('tool-runner', { defaultPort: 8002 }, async ({ config, logger, bus }) => {
  const runner = new ToolRunner({ bus, subjects: subjects(config.SUBJECT_PREFIX), workflowsDir: config.WORKFLOWS_DIR, logger });
  runner.start();
  return { stop: () => runner.stop() };
});
