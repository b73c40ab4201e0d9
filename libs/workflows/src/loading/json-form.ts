// The JSON form of a workflow (one config.json): its parts as sources placed in that file, its
// tools rewritten to the multi-file form's (`implementation` names a module and a function).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { OrchestratorFile, TOOL_FILE_EXTENSIONS } from '../file-schemas.js';
import { ToolEnv } from '../tool-env.js';
import type { WorkflowProblem } from '../workflow-definition.js';
import { Checked } from './checked.js';
import type { Source } from './checked.js';
import { namesIn, readDocument } from './read-document.js';
import type { Path } from './read-document.js';
import type { WorkflowFileKind } from './workflow-files.js';

const JsonToolEntry = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"'),
  /** `module.function`: the function in `module.py` (or .js, .mjs, .cjs, .ts) of the workflow folder. */
  implementation: z
    .string()
    .regex(
      /^[A-Za-z0-9_][A-Za-z0-9_./-]*\.[A-Za-z_$][A-Za-z0-9_$]*$/,
      'must be "module.function", such as stubs.query_database',
    ),
  description: z.string().min(1),
  parameters: z.looseObject({ type: z.literal('object') }).optional(),
  /** The agent that may call it; every agent when unset. */
  agent: z.string().optional(),
  tool_type: z.enum(['Agent_Tool', 'UI_Tool']).optional(),
  timeout_seconds: z.number().positive().optional(),
  env: ToolEnv.optional(),
});

const ORCHESTRATOR_KEYS = Object.keys(OrchestratorFile.shape);
const JSON_PART_KEYS = ['agents', 'tools', 'context_variables', 'handoff_rules', 'structured_outputs'];

/** The JSON form's parts as sources, all placed in config.json; its tools are rewritten to the YAML form's. */
export function jsonFormSources(
  root: string,
  workflowId: string,
  relative: string,
  problems: WorkflowProblem[],
): Partial<Record<WorkflowFileKind, Source>> {
  const read = readDocument(root, relative)!;
  if (read.problems.length) {
    problems.push(...read.problems);
    return {};
  }
  const json = (
    typeof read.value === 'object' && read.value !== null && !Array.isArray(read.value) ? read.value : {}
  ) as Record<string, unknown>;
  for (const key of Object.keys(json)) {
    if (!ORCHESTRATOR_KEYS.includes(key) && !JSON_PART_KEYS.includes(key))
      problems.push({ file: relative, field: key, ...read.locateKey([], key), message: 'unknown field' });
  }
  const part = (value: unknown, toDocument: (field: Path) => Path = (f) => f): Source => ({
    relative,
    read,
    value,
    toDocument,
  });

  // Tools: `implementation` names a module and a function; a tool with no agent serves every agent.
  const agentNames = namesIn(json.agents);
  const toolCheck = new Checked(part({ tools: json.tools ?? [] }));
  const converted: Record<string, unknown>[] = [];
  const origin: number[] = [];
  for (const { i, value: t } of toolCheck.entries('tools', JsonToolEntry, false)) {
    const dot = t.implementation.lastIndexOf('.');
    const module = t.implementation.slice(0, dot);
    const file = TOOL_FILE_EXTENSIONS.map((ext) => `${module}${ext}`).find((f) =>
      existsSync(path.join(root, workflowId, f)),
    );
    if (!file) {
      toolCheck.problem(
        ['tools', i, 'implementation'],
        `no file ${module}${TOOL_FILE_EXTENSIONS.join(`, ${module}`)} in ${workflowId}/`,
      );
      continue;
    }
    for (const agent of t.agent ? [t.agent] : agentNames) {
      converted.push({
        agent,
        file,
        function: t.implementation.slice(dot + 1),
        name: t.name,
        description: t.description,
        ...(t.parameters ? { parameters: t.parameters } : {}),
        ...(t.tool_type ? { tool_type: t.tool_type } : {}),
        ...(t.timeout_seconds ? { timeout_seconds: t.timeout_seconds } : {}),
        ...(t.env ? { env: t.env } : {}),
      });
      origin.push(i);
    }
  }
  problems.push(...toolCheck.problems);
  return {
    orchestrator: part({
      workflow_name: workflowId,
      ...Object.fromEntries(Object.entries(json).filter(([k]) => ORCHESTRATOR_KEYS.includes(k))),
    }),
    agents: part({ agents: json.agents }),
    tools: part({ tools: converted }, (field) =>
      field[0] === 'tools' && typeof field[1] === 'number'
        ? [
            'tools',
            origin[field[1]] ?? field[1],
            ...(field[2] === 'file' || field[2] === 'function' ? ['implementation'] : field.slice(2)),
          ]
        : field,
    ),
    context_variables: part({ context_variables: json.context_variables ?? [] }),
    handoffs: part({ handoff_rules: json.handoff_rules ?? [] }),
    structured_outputs: part({ structured_outputs: json.structured_outputs ?? [] }),
  };
}
