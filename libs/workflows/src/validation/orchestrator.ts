// orchestrator.yaml: the workflow's settings. The folder's name stands for an unset
// workflow_name; a refused setting leaves its default in place so the other checks go on.
import { OrchestratorFile } from '../file-schemas.js';
import type { Checked } from '../loading/checked.js';
import type { AgentNames, FolderContext } from './validation-context.js';

/** The orchestrator's settings, or undefined when the file could not be read at all. */
export function validateOrchestrator(
  check: Checked,
  folder: FolderContext,
  pythonForm: boolean,
): OrchestratorFile | undefined {
  // The Python runtime's pattern, when a folder of its form names none, is AutoPattern.
  const defaults = {
    workflow_name: folder.workflowId,
    ...(pythonForm ? { orchestration_pattern: 'AutoPattern' } : {}),
  };
  if (!check.source) return OrchestratorFile.parse(defaults);
  let written = check.source.value ?? {};
  const isMapping = typeof written === 'object' && written !== null && !Array.isArray(written);
  if (isMapping) written = { ...defaults, ...written };
  const parsed = check.parse(OrchestratorFile, written, [], folder.lenient);
  if (parsed || !isMapping) return parsed;
  // The rest of the checks go on with the defaults in place of the refused settings.
  const valid = Object.fromEntries(
    Object.entries(written as Record<string, unknown>).filter(
      ([k, v]) => OrchestratorFile.shape[k as keyof typeof OrchestratorFile.shape]?.safeParse(v).success,
    ),
  );
  return OrchestratorFile.safeParse({ workflow_name: folder.workflowId, ...valid }).data;
}

/** The orchestrator's references to agents, checked once the agents are known. */
export function checkOrchestratorReferences(check: Checked, o: OrchestratorFile | undefined, agents: AgentNames): void {
  if (o?.initial_agent && agents.unknown(o.initial_agent))
    check.problem(['initial_agent'], agents.missing(o.initial_agent));
  if (o?.after_work && agents.known && !agents.isTarget(o.after_work))
    check.problem(['after_work'], agents.missingTarget(o.after_work));
}
