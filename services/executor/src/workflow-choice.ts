// Which version of its workflow a chat's input runs. A chat's first run takes the current version
// (the files on this host) and records it; later runs use that version (`pinned`, the default),
// fetched from the store when this host's files differ or are missing, or the current one when
// the current files say `version_policy: latest`.
import { WorkflowNotFoundError, WorkflowValidationError } from '@mozaiks/workflows';
import type { VersionedWorkflow, WorkflowVersions } from '@mozaiks/workflows';
import type { ChatRecord, PendingInput } from '@mozaiks/store';
import { ErrorCode } from '@mozaiks/protocol';

export type VersionChoice =
  | {
      ok: true;
      workflow: VersionedWorkflow;
      /** The chat's version before this run, when the run moves it to another one (`latest`). */
      movedFrom?: string;
    }
  | { ok: false; code: ErrorCode; message: string };

/** @throws what the store throws (the run is tried again later), never a workflow's own errors. */
export async function chooseVersion(
  versions: WorkflowVersions,
  workflowId: string,
  chat: ChatRecord,
): Promise<VersionChoice> {
  let current: VersionedWorkflow | undefined;
  let unusable: VersionChoice | undefined;
  try {
    current = await versions.current(workflowId);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError)
      unusable = { ok: false, code: error.code, message: `workflow "${workflowId}" not found` };
    else if (error instanceof WorkflowValidationError)
      unusable = { ok: false, code: error.code, message: error.message };
    else throw error;
  }
  const pinned = chat.workflow_version;
  if (!pinned || current?.version === pinned) return current ? { ok: true, workflow: current } : unusable!;
  if (current?.definition.version_policy === 'latest') return { ok: true, workflow: current, movedFrom: pinned };
  const stored = await versions.get(workflowId, pinned);
  if (stored) return { ok: true, workflow: stored };
  return {
    ok: false,
    code: ErrorCode.WorkflowNotFound,
    message: `workflow "${workflowId}" version ${pinned}, which this chat runs, is not in the store`,
  };
}

/**
 * The agent an input answers (an input request's, or a UI tool call's) when `workflow` has no such
 * agent: the chat moved to a version that removed it.
 */
export function strandedAgent(input: PendingInput, workflow: VersionedWorkflow): string | undefined {
  const agent = input.kind === 'input' ? input.answers?.agent : undefined;
  return agent && !workflow.definition.agents.some((a) => a.name === agent) ? agent : undefined;
}
