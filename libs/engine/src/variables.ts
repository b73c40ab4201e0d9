// The chat's context variables: seeded from the workflow, the environment and the launch token,
// set by tools and hooks (declared names and typed values only) and by the agents' own words.
import { parseEnvBoolean } from '@mozaiks/protocol';
import { matchesVariableType } from '@mozaiks/workflows';
import type { ContextVariableDefinition, WorkflowDefinition } from '@mozaiks/workflows';

/** The context variables: declared defaults, then the environment (`env_var`), then the launch token's claims of the same names. */
export function seedVariables(
  workflow: WorkflowDefinition,
  claims: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> {
  return Object.fromEntries(
    workflow.context_variables.map((v) => {
      if (v.name in claims) return [v.name, claims[v.name]];
      const fromEnv = v.env_var === undefined ? undefined : env[v.env_var];
      return [v.name, fromEnv === undefined ? v.default : fromEnvironment(fromEnv, v)];
    }),
  );
}

/** An environment variable's text as a value of the variable's type; the default when it is not one. */
function fromEnvironment(text: string, variable: ContextVariableDefinition): unknown {
  switch (variable.type) {
    case 'string':
      return text;
    case 'boolean':
      return parseEnvBoolean(text) ?? (text.trim() === '' ? false : variable.default);
    case 'number':
    case 'integer': {
      const n = Number(text);
      return text.trim() !== '' && matchesVariableType(n, variable.type) ? n : variable.default;
    }
    default:
      try {
        const parsed: unknown = JSON.parse(text);
        return matchesVariableType(parsed, variable.type) ? parsed : variable.default;
      } catch {
        return variable.default;
      }
  }
}

/** Key of a tool result's context-variable updates: `{"$context": {"collected": true}}`. */
export const TOOL_CONTEXT_KEY = '$context';
/**
 * Sets what a tool (or hook) set in the variables: only declared variables, and only with values of
 * their type, so that no function corrupts the chat's state. Returns whether any was set.
 */
export function setVariables(
  workflow: WorkflowDefinition,
  updates: Record<string, unknown> | undefined,
  variables: Record<string, unknown>,
): boolean {
  let changed = false;
  for (const [name, value] of Object.entries(updates ?? {})) {
    const type = workflow.context_variables.find((v) => v.name === name)?.type;
    if (type && matchesVariableType(value, type)) {
      variables[name] = value;
      changed = true;
    }
  }
  return changed;
}

/** Sets the variables whose `agent_text` triggers match the agent's reply. Returns whether any did, and whether one hides the reply. */
export function applyTextTriggers(
  workflow: WorkflowDefinition,
  agent: string,
  text: string,
  variables: Record<string, unknown>,
): { changed: boolean; hidden: boolean } {
  let changed = false;
  let hidden = false;
  const said = text.trim();
  for (const variable of workflow.context_variables) {
    for (const trigger of variable.triggers ?? []) {
      if (trigger.type !== 'agent_text' || trigger.agent !== agent) continue;
      const { equals, contains, regex } = trigger.match;
      const matches =
        equals !== undefined
          ? said === equals
          : contains !== undefined
            ? said.includes(contains)
            : new RegExp(regex!).test(said);
      if (!matches) continue;
      if (variables[variable.name] !== true) changed = true;
      variables[variable.name] = true;
      hidden ||= trigger.ui_hidden;
    }
  }
  return { changed, hidden };
}
