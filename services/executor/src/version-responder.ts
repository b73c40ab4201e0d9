// Answers the tool-runners' requests for a stored workflow version's files: executors read the
// store, tool-runners never do (they hold no store credentials), so a pinned version's tools run
// from that version's code on any tool-runner.
import type { Bus, Subscription } from '@mozaiks/bus';
import { WorkflowVersionRequest } from '@mozaiks/protocol';
import type { Subjects, WorkflowVersionReply } from '@mozaiks/protocol';
import type { WorkflowVersionStore } from '@mozaiks/store';

/** Serves `<prefix>.workflow_version` in the `executor` queue group until unsubscribed. */
export function answerVersionRequests(options: {
  bus: Bus;
  subjects: Subjects;
  versions: WorkflowVersionStore;
}): Subscription {
  return options.bus.serve<unknown, WorkflowVersionReply>(
    options.subjects.workflowVersions,
    async (message) => {
      const request = WorkflowVersionRequest.safeParse(message.data);
      if (!request.success) return { v: 1, found: false };
      const { workflow_id, workflow_version } = request.data;
      const files = await options.versions.loadWorkflowVersion(workflow_id, workflow_version);
      return files ? { v: 1, found: true, files } : { v: 1, found: false };
    },
    { queue: 'executor' },
  );
}
