// `mozaiks workflows list [--json]`: each workflow of WORKFLOWS_DIR and of the store, with its
// current version (the folder's content hash), the versions its chats are pinned to, how many
// chats each holds and the oldest of their last activities: who is still on an old version.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadRuntimeConfig } from '@mozaiks/config';
import type { VersionUsage } from '@mozaiks/store';
import { isWorkflowFolder, loadWorkflow, readWorkflowFiles, workflowVersion } from '@mozaiks/workflows';
import { errorMessage } from '@mozaiks/common';
import { openConfiguredStore } from './configured-store.js';
import { UsageError, parseFlags } from './flags.js';

export interface WorkflowListing {
  workflow_id: string;
  /** The version of the files in WORKFLOWS_DIR; null when there is no folder for it. */
  current_version: string | null;
  version_policy?: 'pinned' | 'latest';
  /** Why the folder cannot run, when it cannot. */
  invalid?: string;
  versions: Array<Omit<VersionUsage, 'workflow_id'> & { current: boolean }>;
}

/** The folder's version and policy, or what stops it from loading. */
function currentOf(workflowsDir: string, id: string): Omit<WorkflowListing, 'workflow_id' | 'versions'> {
  const version = workflowVersion(readWorkflowFiles(path.join(workflowsDir, id)));
  try {
    return { current_version: version, version_policy: loadWorkflow(workflowsDir, id).version_policy };
  } catch (error) {
    return { current_version: version, invalid: errorMessage(error).split('\n')[0]! };
  }
}

/** Every workflow in the folder or in the store, with its versions in use, oldest activity first. */
export function listWorkflows(workflowsDir: string, usage: VersionUsage[]): WorkflowListing[] {
  const folders = existsSync(workflowsDir)
    ? readdirSync(workflowsDir).filter((name) => isWorkflowFolder(path.join(workflowsDir, name)))
    : [];
  const ids = [...new Set([...folders, ...usage.map((u) => u.workflow_id)])].sort();
  return ids.map((id) => {
    const current = folders.includes(id) ? currentOf(workflowsDir, id) : { current_version: null };
    const versions = usage
      .filter((u) => u.workflow_id === id)
      .map(({ workflow_id: _id, ...u }) => ({ ...u, current: u.workflow_version === current.current_version }));
    return { workflow_id: id, ...current, versions };
  });
}

export async function workflowsCommand(args: string[], out: (line: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list') throw new UsageError('mozaiks workflows needs a subcommand: mozaiks workflows list [--json]');
  const flags = parseFlags(rest, { json: { type: 'boolean' } });
  const config = loadRuntimeConfig();
  const stores = await openConfiguredStore(config);
  let listing: WorkflowListing[];
  try {
    listing = listWorkflows(path.resolve(config.WORKFLOWS_DIR), await stores.versions.versionUsage());
  } finally {
    await stores.close();
  }
  if (flags.json) {
    for (const entry of listing) out(JSON.stringify(entry));
    return 0;
  }
  for (const w of listing) {
    const policy = w.version_policy ? ` (version_policy ${w.version_policy})` : '';
    const state = w.invalid ? ` INVALID: ${w.invalid}` : '';
    out(`${w.workflow_id}  current ${w.current_version ?? '- (no folder in WORKFLOWS_DIR)'}${policy}${state}`);
    if (w.versions.length === 0) out('    no chats yet');
    for (const v of w.versions) {
      const name = v.workflow_version ?? '(not run yet)';
      out(
        `    ${name.padEnd(16)}  ${v.current ? 'current' : '       '}  ${String(v.chats).padStart(6)} chat(s)  oldest last activity ${v.oldest_activity}`,
      );
    }
  }
  return 0;
}
