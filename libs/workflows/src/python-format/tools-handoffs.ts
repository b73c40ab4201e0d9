// The Python runtime's tools and handoffs files: `ui.mode` for `ui.display`, transition targets
// and condition scopes on handoff rules.
import { dropNulls, isObject, same } from './shape.js';
import type { Adapted, Json, Note, Path } from './shape.js';

export function adaptTools(raw: unknown): Adapted {
  const warnings: Note[] = [];
  if (!isObject(raw)) return { value: raw, warnings, problems: [], toDocument: same };
  const value: Json = { ...raw };
  if (Array.isArray(value.tools)) {
    value.tools = (value.tools as unknown[]).map((entry) => {
      if (!isObject(entry)) return entry;
      const tool = { ...entry };
      dropNulls(tool, ['name', 'parameters', 'timeout_seconds', 'env', 'ui', 'auto_invoke']);
      if (isObject(tool.ui)) {
        const ui: Json = { ...tool.ui };
        if ('mode' in ui) {
          ui.display = ui.mode;
          delete ui.mode;
        }
        dropNulls(ui, ['display', 'component']);
        tool.ui = ui;
        // An agent tool with an empty ui block (component: null) shows nothing.
        if (ui.component === undefined && Object.keys(ui).every((k) => k === 'display')) delete tool.ui;
      }
      return tool;
    });
  }
  // `ui.display` is written `ui.mode` there.
  const writtenUi = (i: unknown): Json | undefined => {
    const tool: unknown = Array.isArray(raw.tools) && typeof i === 'number' ? (raw.tools as unknown[])[i] : undefined;
    return isObject(tool) && isObject(tool.ui) ? tool.ui : undefined;
  };
  const toDocument = (field: Path): Path =>
    field[0] === 'tools' &&
    field[2] === 'ui' &&
    field[3] === 'display' &&
    writtenUi(field[1]) &&
    'mode' in writtenUi(field[1])!
      ? [...field.slice(0, 3), 'mode', ...field.slice(4)]
      : field;
  return { value, warnings, problems: [], toDocument };
}

const TRANSITION_TARGETS: Record<string, (target: string) => boolean> = {
  AgentTarget: (t) => t !== 'user' && t !== 'terminate',
  RevertToUserTarget: (t) => t === 'user',
  TerminateTarget: (t) => t === 'terminate',
};

export function adaptHandoffs(raw: unknown): Adapted {
  const warnings: Note[] = [];
  const problems: Note[] = [];
  if (!isObject(raw) || !Array.isArray(raw.handoff_rules)) return { value: raw, warnings, problems, toDocument: same };
  const rules = (raw.handoff_rules as unknown[]).map((entry, i) => {
    if (!isObject(entry)) return entry;
    const rule = { ...entry };
    const at: Path = ['handoff_rules', i];
    dropNulls(rule, ['condition', 'condition_type', 'condition_scope', 'transition_target']);
    if (rule.condition_type === 'string_llm') rule.condition_type = 'llm';
    if (rule.condition_type === 'string_context' || rule.condition_type === 'context')
      rule.condition_type = 'expression';
    if (rule.handoff_type === 'after_work') delete rule.condition_type;
    if ('transition_target' in rule) {
      const kind = rule.transition_target;
      const fits = typeof kind === 'string' ? TRANSITION_TARGETS[kind] : undefined;
      if (!fits)
        problems.push({
          field: [...at, 'transition_target'],
          message: `${JSON.stringify(kind)} is not supported: use AgentTarget, RevertToUserTarget or TerminateTarget`,
        });
      else if (typeof rule.target_agent === 'string' && !fits(rule.target_agent)) {
        problems.push({
          field: [...at, 'transition_target'],
          message: `${String(kind)} does not match target_agent "${rule.target_agent}" (RevertToUserTarget goes with user, TerminateTarget with terminate, AgentTarget with an agent)`,
        });
      }
      delete rule.transition_target;
    }
    if ('condition_scope' in rule) {
      if (rule.condition_scope === 'pre' && rule.source_agent !== 'user') {
        warnings.push({
          field: at,
          key: 'condition_scope',
          message:
            "has no effect: an agent's conditions are checked when its turn ends, with the variables as they are then",
        });
      }
      delete rule.condition_scope;
    }
    return rule;
  });
  return { value: { ...raw, handoff_rules: rules }, warnings, problems, toDocument: same };
}
