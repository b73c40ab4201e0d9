// An agent of a workflow: builds its view of the chat for the model and gets its reply. Workflows
// may subclass it (`class:` in agents.yaml) to change how it prompts or how it replies.
import type { AgentDefinition } from '@mozaiks/workflows';
import type {
  ChatMessage,
  LlmCallOptions,
  LlmClient,
  LlmMessage,
  LlmRequest,
  LlmResponse,
  LlmToolSpec,
} from './ports.js';

export class ConversableAgent {
  constructor(readonly definition: AgentDefinition) {}

  get name(): string {
    return this.definition.name;
  }

  /**
   * The system prompt: the agent's instructions, its role, the chat's context when shared, and the
   * workflow's context variables when it declares any.
   */
  systemPrompt(context: Record<string, unknown> | undefined, variables?: Record<string, unknown>): string {
    const parts = [this.definition.system_message];
    if (this.definition.role) parts.push(`Your role: ${this.definition.role}`);
    if (context && Object.keys(context).length > 0)
      parts.push(`Context for this chat (JSON): ${JSON.stringify(context)}`);
    // An agent given a list of variables (context_variables.yaml `agents:`) sees only those.
    const shown =
      variables && this.definition.variables
        ? Object.fromEntries(this.definition.variables.map((name) => [name, variables[name] ?? null]))
        : variables;
    if (shown && Object.keys(shown).length > 0) parts.push(`Context variables (JSON): ${JSON.stringify(shown)}`);
    return parts.join('\n\n');
  }

  /**
   * The chat as this agent sees it: its own replies and tool exchanges as the assistant, the user's
   * and other agents' words as named user messages. Other agents' tool exchanges stay theirs.
   */
  buildRequest(
    history: readonly ChatMessage[],
    context: Record<string, unknown> | undefined,
    variables?: Record<string, unknown>,
  ): LlmRequest {
    const messages: LlmMessage[] = [{ role: 'system', content: this.systemPrompt(context, variables) }];
    for (const m of history) {
      if (m.role === 'user') messages.push({ role: 'user', content: m.content });
      else if (m.role === 'assistant' && m.agent === this.name) {
        messages.push({
          role: 'assistant',
          content: m.content,
          ...(m.tool_calls?.length ? { tool_calls: m.tool_calls } : {}),
        });
      } else if (m.role === 'assistant' && m.content)
        messages.push({ role: 'user', name: m.agent, content: m.content });
      else if (m.role === 'tool' && m.agent === this.name)
        messages.push({ role: 'tool', tool_call_id: m.tool_call_id, content: m.content });
    }
    const { model, temperature, max_tokens } = this.definition.llm_config;
    return {
      agent: this.name,
      ...(model ? { model } : {}),
      ...(temperature === undefined ? {} : { temperature }),
      ...(max_tokens === undefined ? {} : { max_tokens }),
      messages,
      tools: this.toolSpecs(),
      ...(this.definition.structured_output
        ? {
            response_format: {
              name: this.definition.structured_output.name,
              schema: this.definition.structured_output.schema,
            },
          }
        : {}),
    };
  }

  /** Gets the agent's reply to `request`: override to post-process it, or to answer without the model. */
  async generateReply(request: LlmRequest, llm: LlmClient, options?: LlmCallOptions): Promise<LlmResponse> {
    return llm.complete(request, options);
  }

  toolSpecs(): LlmToolSpec[] {
    return this.definition.tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
  }
}
