// The files a workflow folder holds, in one list: the multi-file form's kinds in each spelling,
// the Python runtime's extra files, and the JSON form's single file.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/** The single file of a workflow in the JSON form (the guide's `config.json`). */
export const JSON_FORM_FILE = 'config.json';

/** The files of the multi-file form, each as YAML or JSON. */
export const WORKFLOW_FILES = [
  'orchestrator',
  'agents',
  'tools',
  'context_variables',
  'handoffs',
  'structured_outputs',
] as const;
export type WorkflowFileKind = (typeof WORKFLOW_FILES)[number];
export const EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
/** Files of the Python runtime's form beside the kinds above (hooks run; ui_config is reported). */
export const PYTHON_FORM_EXTRAS = ['hooks.yaml', 'ui_config.yaml'] as const;

/** Every file a workflow folder may hold: the multi-file form's files in each spelling, the extras, then the JSON form's. */
export const WORKFLOW_FILE_NAMES = [
  ...WORKFLOW_FILES.flatMap((kind) => EXTENSIONS.map((ext) => `${kind}${ext}`)),
  ...PYTHON_FORM_EXTRAS,
  JSON_FORM_FILE,
] as const;

/** Whether `dir` holds a workflow (any form). */
export function isWorkflowFolder(dir: string): boolean {
  return (
    EXTENSIONS.some((ext) => existsSync(path.join(dir, `orchestrator${ext}`))) ||
    existsSync(path.join(dir, JSON_FORM_FILE)) ||
    EXTENSIONS.some((ext) => existsSync(path.join(dir, `agents${ext}`)))
  );
}

/** A path inside the folder: the name as given, else under `tools/` (where the Python runtime keeps them). */
export function findInFolder(dir: string, file: string): string | undefined {
  return [file, path.join('tools', file)].find((f) => {
    const full = path.join(dir, f);
    return existsSync(full) && statSync(full).isFile();
  });
}
