// The patterns that need no model to choose: AG2's DefaultPattern (handoff rules), round robin,
// random, and manual (the user picks).
import { evaluateExpression } from '@mozaiks/workflows';
import type { WorkflowDefinition } from '@mozaiks/workflows';
import type { OrchestrationPattern, TurnResult } from './pattern.js';
import { speakingOrder } from './speaking-order.js';

/**
 * DefaultPattern. Without handoff rules, each agent speaks once, in order. With them, AG2's
 * order: the agent's own choice (an `llm` condition it met), then its `expression` conditions in
 * file order, then its `after_work` rule, then the workflow's `after_work`, else the run ends.
 */
export class DefaultPattern implements OrchestrationPattern {
  private readonly order: string[];

  constructor(private readonly workflow: WorkflowDefinition) {
    this.order = speakingOrder(workflow);
  }

  first(): string {
    return this.order[0]!;
  }

  next(turn: TurnResult): string | null {
    const rules = this.workflow.handoffs;
    if (rules.length === 0) return this.order[this.order.indexOf(turn.agent) + 1] ?? null;
    if (turn.handoff) return turn.handoff;
    const mine = rules.filter((r) => r.source_agent === turn.agent);
    for (const rule of mine) {
      if (rule.kind === 'expression' && evaluateExpression(rule.expression, turn.variables)) return rule.target;
    }
    return mine.find((r) => r.kind === 'after_work')?.target ?? this.workflow.after_work ?? 'terminate';
  }
}

/** RoundRobinPattern: the agents speak in turn, again and again, until max_turns or the marker. */
export class RoundRobinPattern implements OrchestrationPattern {
  private readonly order: string[];

  constructor(workflow: WorkflowDefinition) {
    this.order = speakingOrder(workflow);
  }

  first(): string {
    return this.order[0]!;
  }

  next(turn: TurnResult): string {
    return this.order[(this.order.indexOf(turn.agent) + 1) % this.order.length]!;
  }
}

/** RandomPattern: any agent but the one that just spoke, until max_turns or the marker. */
export class RandomPattern implements OrchestrationPattern {
  constructor(
    private readonly workflow: WorkflowDefinition,
    private readonly random: () => number = Math.random,
  ) {}

  first(): string {
    return this.workflow.initial_agent;
  }

  next(turn: TurnResult): string {
    const others = this.workflow.agents.map((a) => a.name).filter((n) => n !== turn.agent);
    if (others.length === 0) return turn.agent;
    return others[Math.floor(this.random() * others.length)]!;
  }
}

/** ManualPattern: the initial agent speaks, then after every turn the user picks who speaks next. */
export class ManualPattern implements OrchestrationPattern {
  constructor(private readonly workflow: WorkflowDefinition) {}

  first(): string {
    return this.workflow.initial_agent;
  }

  next(): string {
    return 'user';
  }
}
