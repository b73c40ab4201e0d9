// Loads workflows' custom agent classes (`class: custom_agents.DataAnalystAgent`). They are the
// workflow author's code and run in the executor, like the workflow's prompts; tools, which touch
// the outside world, stay in the tool-runner's sandbox.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConversableAgent } from '@mozaiks/engine';
import type { AgentDefinition, WorkflowDefinition } from '@mozaiks/workflows';

type AgentClass = new (definition: AgentDefinition) => ConversableAgent;

/** Loads a module of the workflow folder: .ts through tsx, the rest through Node. */
async function loadModule(file: string): Promise<Record<string, unknown>> {
  if (file.endsWith('.ts')) {
    const { tsImport } = (await import('tsx/esm/api')) as {
      tsImport: (specifier: string, parent: string) => Promise<Record<string, unknown>>;
    };
    return tsImport(pathToFileURL(file).href, __filename);
  }
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/**
 * The agent factory for a workflow: its custom classes loaded (once per process: restart to pick
 * up a change), checked to be agents.
 * @throws Error naming the agent, the file and what is wrong.
 */
export async function agentFactory(
  workflow: WorkflowDefinition,
): Promise<((definition: AgentDefinition) => ConversableAgent) | undefined> {
  const classes = new Map<string, AgentClass>();
  for (const agent of workflow.agents) {
    if (!agent.class) continue;
    const file = path.join(workflow.dir, agent.class.file);
    const mod = await loadModule(file);
    const candidate =
      mod[agent.class.export] ?? (mod.default as Record<string, unknown> | undefined)?.[agent.class.export];
    // The class may come from another copy of the engine package: check its shape, not its identity.
    const prototype = (candidate as { prototype?: Record<string, unknown> } | undefined)?.prototype;
    if (
      typeof candidate !== 'function' ||
      typeof prototype?.buildRequest !== 'function' ||
      typeof prototype?.generateReply !== 'function'
    ) {
      throw new Error(
        `agent ${agent.name}: ${workflow.id}/${agent.class.file} exports no class "${agent.class.export}" extending ConversableAgent`,
      );
    }
    classes.set(agent.name, candidate as AgentClass);
  }
  if (classes.size === 0) return undefined;
  return (definition) => {
    const Custom = classes.get(definition.name);
    return Custom ? new Custom(definition) : new ConversableAgent(definition);
  };
}
