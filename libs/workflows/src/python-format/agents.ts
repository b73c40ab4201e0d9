// The Python runtime's orchestrator and agents files: agents keyed by name, prompts written as
// sections, nulls for unset keys.
import { dropNulls, isObject, same } from './shape.js';
import type { Adapted, Json, Note, Path } from './shape.js';

export function adaptOrchestrator(raw: unknown): Adapted {
  const warnings: Note[] = [];
  if (!isObject(raw)) return { value: raw, warnings, problems: [], toDocument: same };
  const value = { ...raw };
  dropNulls(value, ['initial_message', 'initial_message_to_user', 'initial_agent', 'description']);
  if ('entry_point' in value) {
    warnings.push({
      field: [],
      key: 'entry_point',
      message:
        "has no effect here: a workflow is started by the id in the launch token; which one opens first is the frontend's choice",
    });
    delete value.entry_point;
  }
  if ('initial_message_to_user' in value) {
    warnings.push({
      field: [],
      key: 'initial_message_to_user',
      message: 'is not shown here; have the initial agent say it (initial_message tells the agent what to open with)',
    });
    delete value.initial_message_to_user;
  }
  return { value, warnings, problems: [], toDocument: same };
}

/** Heading order of the Python runtime's fixed prompt sections. */
const SECTION_ORDER = [
  'role',
  'objective',
  'context',
  'runtime_integrations',
  'guidelines',
  'instructions',
  'examples',
  'json_output_compliance',
  'output_format',
];

/** An agent's system message from its prompt sections: each heading over its content, a blank line between sections. */
export function joinPromptSections(sections: unknown): string | undefined {
  const list = Array.isArray(sections)
    ? sections
    : isObject(sections)
      ? [
          ...SECTION_ORDER.filter((k) => k in sections),
          ...Object.keys(sections).filter((k) => !SECTION_ORDER.includes(k)),
        ].map((k) => sections[k])
      : undefined;
  if (!list) return undefined;
  const parts = list.flatMap((section) => {
    if (!isObject(section)) return typeof section === 'string' && section.trim() ? [section.trim()] : [];
    const heading = typeof section.heading === 'string' ? section.heading.trim() : '';
    const content =
      section.content === undefined || section.content === null
        ? ''
        : (typeof section.content === 'string' ? section.content : JSON.stringify(section.content)).trim();
    const text = heading && content ? `${heading}\n${content}` : heading || content;
    return text ? [text] : [];
  });
  return parts.length ? parts.join('\n\n') : undefined;
}

/** The agents of an agents document as written (a list, or a mapping keyed by name), each with its path. */
function agentEntries(raw: unknown): Array<{ entry: unknown; name: unknown; at: Path }> {
  if (!isObject(raw)) return [];
  if (isObject(raw.agents))
    return Object.entries(raw.agents).map(([name, entry]) => ({ entry, name, at: ['agents', name] }));
  return Array.isArray(raw.agents)
    ? (raw.agents as unknown[]).map((entry, i) => ({
        entry,
        name: isObject(entry) ? entry.name : undefined,
        at: ['agents', i],
      }))
    : [];
}

/** Agents marked `structured_outputs_required: true`, with where the mark is. */
export function requiredStructuredOutputs(raw: unknown): Array<{ name: string; at: Path }> {
  return agentEntries(raw).flatMap(({ entry, name, at }) =>
    isObject(entry) && entry.structured_outputs_required === true && typeof name === 'string' ? [{ name, at }] : [],
  );
}

export function adaptAgents(raw: unknown): Adapted {
  const warnings: Note[] = [];
  if (!isObject(raw)) return { value: raw, warnings, problems: [], toDocument: same };
  // Agents keyed by name: the list's index i stands for the i-th key.
  const keyed = isObject(raw.agents);
  const listed = agentEntries(raw);
  const fromSections = new Set<number>();
  const agents = listed.map(({ entry, name, at }, i) => {
    if (!isObject(entry)) return entry;
    const agent: Json = keyed ? { name, ...entry } : { ...entry };
    const sectionsKey =
      'prompt_sections' in agent && agent.prompt_sections
        ? 'prompt_sections'
        : 'prompt_sections_custom' in agent
          ? 'prompt_sections_custom'
          : undefined;
    if (sectionsKey) {
      const joined = joinPromptSections(agent[sectionsKey]);
      if (agent.system_message === undefined && joined !== undefined) {
        agent.system_message = joined;
        fromSections.add(i);
      } else if (agent.system_message !== undefined) {
        warnings.push({
          field: at,
          key: sectionsKey,
          message: 'is ignored: the agent has a system_message too (give one or the other)',
        });
      }
    }
    delete agent.prompt_sections;
    delete agent.prompt_sections_custom;
    // Checked against the structured outputs by the loader (requiredStructuredOutputs).
    delete agent.structured_outputs_required;
    dropNulls(agent, ['role', 'class', 'llm_config', 'max_consecutive_auto_reply', 'description', 'auto_tool_mode']);
    return agent;
  });
  const value = { ...raw, agents };
  const toDocument = (field: Path): Path => {
    if (field[0] !== 'agents' || typeof field[1] !== 'number') return field;
    const i = field[1];
    const head = listed[i]?.at ?? ['agents', i];
    if (field[2] === 'name' && keyed) return head;
    if (field[2] === 'system_message' && fromSections.has(i)) return [...head, 'prompt_sections'];
    return [...head, ...field.slice(2)];
  };
  return { value, warnings, problems: [], toDocument };
}
