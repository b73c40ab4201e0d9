// JSON Schemas of the workflow files, from the same zod schemas the loader uses, so editors
// complete and check orchestrator.yaml, agents.yaml and tools.yaml as they are typed.
import { z } from 'zod';
import {
  AgentsFile,
  ContextVariablesFile,
  HandoffsFile,
  OrchestratorFile,
  StructuredOutputsFile,
  ToolsFile,
} from './file-schemas.js';
import type { WorkflowFileKind } from './loading/workflow-files.js';

const schemas = {
  orchestrator: OrchestratorFile,
  agents: AgentsFile,
  tools: ToolsFile,
  context_variables: ContextVariablesFile,
  handoffs: HandoffsFile,
  structured_outputs: StructuredOutputsFile,
} as const;

/** The JSON Schema of one workflow file, as written by hand (defaults optional). */
export function workflowFileJsonSchema(kind: WorkflowFileKind): Record<string, unknown> {
  return {
    ...z.toJSONSchema(schemas[kind], { io: 'input', unrepresentable: 'any' }),
    title: `MozaiksAI workflow ${kind}.yaml`,
  };
}
