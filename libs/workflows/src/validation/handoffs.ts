// handoffs.yaml: where the conversation goes after each agent (and from the user): an
// expression on context variables, a condition the agent decides (`llm`), or after its work.
import { HandoffEntry } from '../file-schemas.js';
import { ExpressionError, expressionVariables, parseExpression } from '../condition-expression.js';
import type { Checked } from '../loading/checked.js';
import type { HandoffRule } from '../workflow-definition.js';
import type { AgentNames, FolderContext } from './validation-context.js';

/** The valid rules; an expression may name only declared variables. */
export function validateHandoffs(
  check: Checked,
  folder: FolderContext,
  names: AgentNames,
  namedVariables: ReadonlySet<string>,
): HandoffRule[] {
  const handoffs: HandoffRule[] = [];
  for (const { i, value: h } of check.entries('handoff_rules', HandoffEntry, folder.lenient)) {
    const problem = (field: string, message: string) => check.problem(['handoff_rules', i, field], message);
    const fromUser = h.source_agent === 'user';
    if (!fromUser && names.unknown(h.source_agent))
      problem('source_agent', `${names.missing(h.source_agent)} (or use user)`);
    if (names.known && !names.isTarget(h.target_agent)) problem('target_agent', names.missingTarget(h.target_agent));
    if (fromUser && h.target_agent === 'user')
      problem('target_agent', 'a rule from the user must name the agent who answers (or terminate)');
    const rule = { source_agent: h.source_agent, target: h.target_agent };
    if (h.handoff_type === 'after_work') {
      handoffs.push({ ...rule, kind: 'after_work' });
      continue;
    }
    if (!h.condition) problem('condition', 'a condition rule needs a condition');
    else if (!h.condition_type) problem('condition_type', 'a condition rule needs condition_type: expression or llm');
    else if (h.condition_type === 'llm') handoffs.push({ ...rule, kind: 'llm', condition: h.condition });
    else {
      const expression = parsedCondition(h.condition, namedVariables, (message) => problem('condition', message));
      if (expression) handoffs.push({ ...rule, kind: 'expression', condition: h.condition, expression });
    }
  }
  return handoffs;
}

/** An expression condition parsed, when it parses and names only declared variables. */
function parsedCondition(
  condition: string,
  namedVariables: ReadonlySet<string>,
  problem: (message: string) => void,
): ReturnType<typeof parseExpression> | undefined {
  try {
    const expression = parseExpression(condition);
    const unknown = expressionVariables(expression).filter((name) => !namedVariables.has(name));
    if (unknown.length === 0) return expression;
    problem(
      `unknown context variable(s) ${unknown.map((n) => `"${n}"`).join(', ')}; declare them in context_variables.yaml`,
    );
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    problem(error.message);
  }
  return undefined;
}
