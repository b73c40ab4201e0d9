// Where a tool-runner finds a workflow version its own files are not: the executors, over the bus
// (they read the store; a tool-runner holds no store credentials). It never stores versions itself.
import type { Bus } from '@mozaiks/bus';
import { WorkflowVersionReply } from '@mozaiks/protocol';
import type { Subjects, WorkflowVersionRequest } from '@mozaiks/protocol';
import type { VersionSource } from '@mozaiks/workflows';

/** How long a tool-runner waits for an executor to answer with a version's files. */
const VERSION_REQUEST_MS = 10_000;

export function busVersionSource(bus: Bus, subjects: Subjects): VersionSource {
  return {
    // The executors store every version they run before any of its tools is called.
    saveWorkflowVersion: async () => undefined,
    async loadWorkflowVersion(workflowId, version) {
      const request: WorkflowVersionRequest = { v: 1, workflow_id: workflowId, workflow_version: version };
      const reply = WorkflowVersionReply.parse(
        await bus.request(subjects.workflowVersions, request, { timeoutMs: VERSION_REQUEST_MS }),
      );
      return reply.found ? reply.files : undefined;
    },
  };
}
