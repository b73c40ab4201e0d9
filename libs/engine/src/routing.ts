// Where the conversation goes on an agent's or the user's say: the handoff tools an agent is
// offered (its `llm` conditions), and the rules from `user` that route the user's later messages.
import type { LlmCallUsage } from '@mozaiks/protocol';
import { evaluateExpression } from '@mozaiks/workflows';
import type { WorkflowDefinition } from '@mozaiks/workflows';
import type { LlmClient } from './ports.js';

/** Prefix of the tools through which an agent hands the conversation over (its `llm` conditions). */
export const HANDOFF_TOOL = 'handoff_to_';

/** The agent's `llm` handoff conditions as tools it can call. */
export function handoffTools(
  workflow: WorkflowDefinition,
  agent: string,
): Array<{ name: string; target: string; description: string }> {
  return workflow.handoffs.flatMap((rule) =>
    rule.source_agent === agent && rule.kind === 'llm'
      ? [
          {
            name: `${HANDOFF_TOOL}${rule.target}`,
            target: rule.target,
            description: `Hand the conversation over to ${rule.target} when: ${rule.condition}`,
          },
        ]
      : [],
  );
}

/** Name under which routing calls for the user's messages are reported in usage. */
export const USER_ROUTER = 'user_router';

/**
 * Who answers the user's message, by the handoff rules from `user`: the first expression that
 * holds, else the `llm` condition a model finds the message meets, else the `after_work` rule.
 * Undefined when the workflow has no such rule or none applies.
 */
export async function routeUserMessage(
  workflow: WorkflowDefinition,
  message: string,
  variables: Readonly<Record<string, unknown>>,
  llm: LlmClient,
  record: (usage: LlmCallUsage) => void,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const rules = workflow.handoffs.filter((r) => r.source_agent === 'user');
  for (const rule of rules) {
    if (rule.kind === 'expression' && evaluateExpression(rule.expression, variables)) return rule.target;
  }
  const conditions = rules.flatMap((r) => (r.kind === 'llm' ? [r] : []));
  if (conditions.length) {
    const reply = await llm.complete(
      {
        agent: USER_ROUTER,
        temperature: 0,
        messages: [
          {
            role: 'system',
            content: `You route a user's message. Conditions:\n${conditions.map((c, i) => `${i + 1}. ${c.condition}`).join('\n')}\n\nAnswer with the number of the first condition the message meets, or 0 if it meets none. Answer with the number only.`,
          },
          { role: 'user', content: message },
        ],
        tools: [],
      },
      signal ? { signal } : {},
    );
    record(reply.usage);
    const chosen = Number(/\d+/.exec(reply.content ?? '')?.[0] ?? 0);
    if (chosen >= 1 && chosen <= conditions.length) return conditions[chosen - 1]!.target;
  }
  return rules.find((r) => r.kind === 'after_work')?.target;
}
