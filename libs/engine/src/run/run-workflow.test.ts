// The turn loop and DefaultPattern on the engine alone: scripted LLM port, in-memory chat and events.
import type { EventBody } from '@mozaiks/protocol';
import { parseExpression } from '@mozaiks/workflows';
import type { ToolDefinition, WorkflowDefinition } from '@mozaiks/workflows';
import { LlmCallError, MAX_TOOL_ROUNDS_PER_TURN, RunAbortedError, runWorkflow } from '../index';
import type { RunPorts } from '../index';
import type {
  ChatMessage,
  LlmCallOptions,
  LlmClient,
  LlmRequest,
  LlmResponse,
  RunStep,
  ToolInvocation,
  ToolOutcome,
} from '../ports';

type Reply = Partial<Pick<LlmResponse, 'content' | 'tool_calls'>> | Error;

class ScriptedLlmPort implements LlmClient {
  readonly requests: LlmRequest[] = [];
  constructor(private readonly replies: Reply[]) {}
  async complete(request: LlmRequest, options: LlmCallOptions = {}): Promise<LlmResponse> {
    this.requests.push(structuredClone(request));
    const next = this.replies.shift() ?? { content: 'default reply' };
    if (next instanceof Error) throw next;
    // Streams its text in two pieces, as a model would in many.
    if (next.content && options.onDelta) {
      const half = Math.ceil(next.content.length / 2);
      options.onDelta(next.content.slice(0, half));
      options.onDelta(next.content.slice(half));
    }
    return {
      content: next.content ?? null,
      tool_calls: next.tool_calls ?? [],
      usage: {
        call_id: `call${this.requests.length}`,
        agent: request.agent,
        model: request.model ?? 'default',
        prompt_tokens: 10,
        completion_tokens: 2,
        total_tokens: 12,
      },
    };
  }
}

/** A model that calls a tool whenever it is offered one, and answers in words when it is not. */
function toolLoopingLlm(): ScriptedLlmPort {
  const llm = new ScriptedLlmPort([]);
  llm.complete = async function (request) {
    this.requests.push(structuredClone(request));
    const toolsOffered = request.tools.length > 0;
    return {
      content: toolsOffered ? null : 'giving up on tools',
      tool_calls: toolsOffered ? [{ id: `t${this.requests.length}`, name: 'lookup', arguments: '{}' }] : [],
      usage: {
        call_id: 'x',
        agent: request.agent,
        model: 'm',
        prompt_tokens: 1,
        completion_tokens: 1,
        total_tokens: 2,
      },
    };
  };
  return llm;
}

function workflow(overrides: Partial<WorkflowDefinition> = {}): WorkflowDefinition {
  const tool = {
    name: 'lookup',
    agent: 'A',
    file: 't.js',
    function: 'lookup',
    description: 'Looks up',
    tool_type: 'Agent_Tool' as const,
    parameters: { type: 'object' },
    env: [],
  };
  return {
    id: 'wf',
    dir: '/wf',
    name: 'WF',
    max_turns: 10,
    max_consecutive_auto_reply: 10,
    human_in_the_loop: false,
    startup_mode: 'UserDriven',
    version_policy: 'pinned',
    orchestration_pattern: 'DefaultPattern',
    initial_agent: 'A',
    termination_marker: 'TERMINATE',
    agents: [
      {
        name: 'A',
        role: 'first',
        system_message: 'You are A.',
        llm_config: { model: 'model-a', temperature: 0.2 },
        tools: [tool],
      },
      { name: 'B', system_message: 'You are B.', llm_config: {}, tools: [] },
      { name: 'C', system_message: 'You are C.', llm_config: {}, tools: [] },
    ],
    tools: [tool],
    context_variables: [],
    handoffs: [],
    ...overrides,
  };
}

function ports(llm: LlmClient, history: ChatMessage[] = [], tool?: (i: ToolInvocation) => Promise<ToolOutcome>) {
  const events: EventBody[] = [];
  const stored: ChatMessage[] = [...history];
  const invocations: ToolInvocation[] = [];
  const commits: RunStep[] = [];
  const lives: EventBody[] = [];
  // Per-call usage is checked on its own (`deltas`); `events` reads as the conversation.
  const deltas: EventBody[] = [];
  const p: RunPorts = {
    llm,
    tools: {
      invoke: async (i) => (
        invocations.push(i),
        tool ? tool(i) : { ok: true, result: { found: i.args }, duration_ms: 1 }
      ),
    },
    journal: {
      live: (e) => void lives.push(e),
      load: async () => structuredClone(stored),
      commit: async (step) => {
        const events_ = (step.events ?? []).filter((e) => e.type !== 'usage_delta');
        deltas.push(...(step.events ?? []).filter((e) => e.type === 'usage_delta'));
        commits.push(structuredClone({ ...step, ...(step.events ? { events: events_ } : {}) }));
        stored.push(...(step.messages ?? []));
        events.push(...events_);
      },
    },
  };
  return { ports: p, events, stored, invocations, commits, lives, deltas };
}

describe('runWorkflow with DefaultPattern', () => {
  it('lets each agent speak once, in order, and completes with agents_done', async () => {
    const llm = new ScriptedLlmPort([{ content: 'from A' }, { content: 'from B' }, { content: 'from C' }]);
    const { ports: p, events, stored } = ports(llm);
    const outcome = await runWorkflow({ workflow: workflow(), runId: 'r1', userMessage: 'hi' }, p);
    expect(events.map((e) => (e.type === 'agent_message' ? `${e.agent}:${e.content}` : e.type))).toEqual([
      'A:from A',
      'B:from B',
      'C:from C',
      'workflow_complete',
    ]);
    expect(outcome).toMatchObject({ status: 'completed', reason: 'agents_done', turns: 3 });
    expect(outcome.calls.map((c) => c.agent)).toEqual(['A', 'B', 'C']);
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'assistant', 'assistant']);
    expect(llm.requests[0]).toMatchObject({ agent: 'A', model: 'model-a', temperature: 0.2 });
    expect(llm.requests[1]!.model).toBeUndefined();
  });

  it('starts with initial_agent and wraps around the list', async () => {
    const llm = new ScriptedLlmPort([]);
    const { ports: p } = ports(llm);
    await runWorkflow({ workflow: workflow({ initial_agent: 'B' }), runId: 'r', userMessage: 'hi' }, p);
    expect(llm.requests.map((r) => r.agent)).toEqual(['B', 'C', 'A']);
  });

  it('stops at max_turns', async () => {
    const { ports: p, events } = ports(new ScriptedLlmPort([]));
    const outcome = await runWorkflow({ workflow: workflow({ max_turns: 2 }), runId: 'r', userMessage: 'hi' }, p);
    expect(outcome).toMatchObject({ status: 'completed', reason: 'max_turns', turns: 2 });
    expect(events.at(-1)).toMatchObject({ type: 'workflow_complete', reason: 'max_turns', turns: 2 });
  });

  it('ends the run when a reply ends with the termination marker, and hides the marker', async () => {
    const { ports: p, events } = ports(new ScriptedLlmPort([{ content: 'All set. TERMINATE' }]));
    const outcome = await runWorkflow({ workflow: workflow(), runId: 'r', userMessage: 'hi' }, p);
    expect(outcome).toMatchObject({ reason: 'terminated', turns: 1 });
    expect(events[0]).toMatchObject({ type: 'agent_message', content: 'All set.' });
  });

  it("shows each agent its own words as the assistant and the others' as named users", async () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'earlier question' },
      { role: 'assistant', agent: 'A', content: null, tool_calls: [{ id: 't0', name: 'lookup', arguments: '{}' }] },
      { role: 'tool', agent: 'A', tool_call_id: 't0', name: 'lookup', content: '{"found":{}}' },
      { role: 'assistant', agent: 'A', content: 'earlier A' },
      { role: 'assistant', agent: 'B', content: 'earlier B' },
    ];
    const llm = new ScriptedLlmPort([]);
    const { ports: p } = ports(llm, history);
    await runWorkflow({ workflow: workflow(), runId: 'r', userMessage: 'now', context: { plan: 'pro' } }, p);
    const [toA, toB] = llm.requests;
    expect(toA!.messages[0]).toEqual({
      role: 'system',
      content: 'You are A.\n\nYour role: first\n\nContext for this chat (JSON): {"plan":"pro"}',
    });
    expect(toA!.messages.slice(1).map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
      'user',
    ]);
    expect(toA!.messages[5]).toEqual({ role: 'user', name: 'B', content: 'earlier B' });
    // B sees none of A's tool traffic, only A's words.
    expect(toB!.messages.slice(1)).toEqual([
      { role: 'user', content: 'earlier question' },
      { role: 'user', name: 'A', content: 'earlier A' },
      { role: 'assistant', content: 'earlier B' },
      { role: 'user', content: 'now' },
      { role: 'user', name: 'A', content: 'default reply' },
    ]);
    expect(toA!.tools).toEqual([{ name: 'lookup', description: 'Looks up', parameters: { type: 'object' } }]);
    expect(toB!.tools).toEqual([]);
  });

  it('runs tool calls, emits tool_call then tool_result in order, and gives the results back to the agent', async () => {
    const llm = new ScriptedLlmPort([
      {
        content: 'Let me check.',
        tool_calls: [
          { id: 't1', name: 'lookup', arguments: '{"q":1}' },
          { id: 't2', name: 'lookup', arguments: '{"q":2}' },
        ],
      },
      { content: 'Found both.' },
    ]);
    let running = 0;
    let maxParallel = 0;
    const {
      ports: p,
      events,
      invocations,
    } = ports(llm, [], async (i) => {
      maxParallel = Math.max(maxParallel, ++running);
      await new Promise((r) => setTimeout(r, i.args.q === 1 ? 30 : 5));
      running--;
      return { ok: true, result: { q: i.args.q }, duration_ms: 1 };
    });
    await runWorkflow(
      { workflow: workflow({ agents: workflow().agents.slice(0, 1) }), runId: 'r', userMessage: 'find' },
      p,
    );
    expect(events.map((e) => e.type)).toEqual([
      'agent_message',
      'tool_call',
      'tool_call',
      'tool_result',
      'tool_result',
      'agent_message',
      'workflow_complete',
    ]);
    expect(events.filter((e) => e.type === 'tool_result').map((e) => (e as { result: unknown }).result)).toEqual([
      { q: 1 },
      { q: 2 },
    ]);
    expect(maxParallel).toBe(2);
    expect(invocations.map((i) => i.tool_call_id)).toEqual(['t1', 't2']);
    const second = llm.requests[1]!.messages;
    expect(second.slice(-3)).toEqual([
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 't1', name: 'lookup', arguments: '{"q":1}' },
          { id: 't2', name: 'lookup', arguments: '{"q":2}' },
        ],
      },
      { role: 'tool', tool_call_id: 't1', content: '{"q":1}' },
      { role: 'tool', tool_call_id: 't2', content: '{"q":2}' },
    ]);
  });

  it('returns unknown tools, bad arguments and tool failures to the model as errors', async () => {
    const llm = new ScriptedLlmPort([
      {
        tool_calls: [
          { id: 'a', name: 'nope', arguments: '{}' },
          { id: 'b', name: 'lookup', arguments: '[1]' },
          { id: 'c', name: 'lookup', arguments: '{}' },
        ],
      },
      { content: 'recovered' },
    ]);
    const { ports: p, events } = ports(llm, [], async () => ({
      ok: false,
      error: { code: 'tool_failed', message: 'boom' },
      duration_ms: 1,
    }));
    const outcome = await runWorkflow(
      { workflow: workflow({ agents: workflow().agents.slice(0, 1) }), runId: 'r', userMessage: 'go' },
      p,
    );
    expect(outcome.status).toBe('completed');
    const results = events.filter((e) => e.type === 'tool_result') as Array<{
      ok: boolean;
      error?: { code: string; message: string };
    }>;
    expect(results.map((r) => r.error?.code)).toEqual(['invalid_tool_call', 'invalid_tool_call', 'tool_failed']);
    expect(results[0]!.error!.message).toContain('no tool named "nope"');
    const toolMessages = llm.requests[1]!.messages.filter((m) => m.role === 'tool');
    expect(toolMessages.map((m) => JSON.parse((m as { content: string }).content).error.code)).toEqual([
      'invalid_tool_call',
      'invalid_tool_call',
      'tool_failed',
    ]);
  });

  it('makes an agent answer in words after max_consecutive_auto_reply tool rounds', async () => {
    const llm = toolLoopingLlm();
    await runWorkflow(
      {
        workflow: workflow({ agents: workflow().agents.slice(0, 1), max_consecutive_auto_reply: 3 }),
        runId: 'r',
        userMessage: 'loop',
      },
      ports(llm).ports,
    );
    expect(llm.requests).toHaveLength(4);
  });

  it(`makes an agent answer in words after ${MAX_TOOL_ROUNDS_PER_TURN} tool rounds by default`, async () => {
    const llm = toolLoopingLlm();
    const { ports: p, events } = ports(llm);
    await runWorkflow(
      { workflow: workflow({ agents: workflow().agents.slice(0, 1) }), runId: 'r', userMessage: 'loop' },
      p,
    );
    expect(llm.requests).toHaveLength(MAX_TOOL_ROUNDS_PER_TURN + 1);
    expect(events.filter((e) => e.type === 'agent_message')).toEqual([
      expect.objectContaining({ content: 'giving up on tools' }),
    ]);
  });

  it('turns an LLM failure into an error event and a failed completion, keeping the usage so far', async () => {
    const failure = new LlmCallError('LLM call to model m failed (HTTP 503): overloaded', { retryable: true });
    const { ports: p, events, stored } = ports(new ScriptedLlmPort([{ content: 'A ok' }, failure]));
    const outcome = await runWorkflow({ workflow: workflow(), runId: 'r', userMessage: 'hi' }, p);
    expect(outcome).toMatchObject({ status: 'failed', reason: 'error', turns: 1 });
    expect(outcome.calls).toHaveLength(1);
    expect(events.map((e) => e.type)).toEqual(['agent_message', 'error', 'workflow_complete']);
    expect(events[1]).toMatchObject({
      code: 'llm_error',
      retryable: true,
      message: expect.stringContaining('overloaded'),
    });
    // The user's message and A's reply stay in the history.
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it("stops with the store's error when a step cannot be committed, committing nothing after it", async () => {
    const { ports: p, commits } = ports(
      new ScriptedLlmPort([{ content: 'one' }, { content: 'two' }, { content: 'three' }]),
    );
    const down = new Error('store unreachable');
    let calls = 0;
    const commit = p.journal.commit;
    p.journal.commit = async (step) => {
      // The second commit (B's reply going in before C speaks) fails; the database is back after.
      if (++calls === 2) throw down;
      return commit(step);
    };
    await expect(runWorkflow({ workflow: workflow(), runId: 'r1', userMessage: 'hi' }, p)).rejects.toBe(down);
    // Not recorded as a failed run: started again, it continues from A's committed reply.
    expect(commits).toHaveLength(1);
    expect(commits.flatMap((c) => c.events ?? []).map((e) => e.type)).toEqual(['agent_message']);
  });

  it("shows a reply's text live as it streams, before committing the whole reply", async () => {
    const { ports: p, lives, commits } = ports(new ScriptedLlmPort([{ content: 'streamed reply' }]));
    await runWorkflow(
      { workflow: workflow({ agents: workflow().agents.slice(0, 1) }), runId: 'r1', userMessage: 'hi' },
      p,
    );
    expect(lives).toEqual([
      { type: 'agent_message_delta', run_id: 'r1', agent: 'A', delta: 'streame' },
      { type: 'agent_message_delta', run_id: 'r1', agent: 'A', delta: 'd reply' },
    ]);
    expect(commits[0]!.events).toEqual([
      expect.objectContaining({ type: 'agent_message', content: 'streamed reply' }),
      expect.objectContaining({ type: 'workflow_complete' }),
    ]);
  });

  it("commits a run of one model call once: the user's message, the reply and the run's end together", async () => {
    const { ports: p, commits, events } = ports(new ScriptedLlmPort([{ content: 'only' }]));
    await runWorkflow(
      { workflow: workflow({ agents: workflow().agents.slice(0, 1) }), runId: 'r1', userMessage: 'hi' },
      p,
    );
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', agent: 'A', content: 'only', final: true },
      ],
      events: [
        { type: 'agent_message', content: 'only' },
        { type: 'workflow_complete', status: 'completed', turns: 1 },
      ],
      calls: [{ agent: 'A' }],
      finish: 'completed',
    });
    expect(events.map((e) => e.type)).toEqual(['agent_message', 'workflow_complete']);
  });

  it("commits each reply with its event and its LLM call, and the end with the run's status", async () => {
    const { ports: p, commits } = ports(
      new ScriptedLlmPort([{ content: 'one' }, { content: 'two' }, { content: 'three' }]),
    );
    await runWorkflow({ workflow: workflow(), runId: 'r1', userMessage: 'hi' }, p);
    // The user's message is committed with the first reply.
    expect(commits[0]).toMatchObject({
      messages: [
        { role: 'user', content: 'hi', run_id: 'r1' },
        { role: 'assistant', agent: 'A', content: 'one', final: true, run_id: 'r1' },
      ],
      events: [{ type: 'agent_message', agent: 'A', content: 'one' }],
      calls: [{ agent: 'A', total_tokens: 12 }],
    });
    // Each reply is committed before the next agent speaks; the last one with the run's end.
    expect(commits).toHaveLength(3);
    expect(commits[1]).toMatchObject({
      messages: [{ content: 'two' }],
      events: [{ type: 'agent_message', content: 'two' }],
    });
    expect(commits.at(-1)).toMatchObject({
      messages: [{ role: 'assistant', agent: 'C', content: 'three' }],
      events: [
        { type: 'agent_message', content: 'three' },
        { type: 'workflow_complete', status: 'completed' },
      ],
      finish: 'completed',
    });
  });
});

describe('runWorkflow resuming a run after a crash', () => {
  it('does not repeat the user message or a finished turn, and goes on with the next agent', async () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'hi', run_id: 'r1' },
      { role: 'assistant', agent: 'A', content: 'A already said this', final: true, run_id: 'r1' },
    ];
    const llm = new ScriptedLlmPort([{ content: 'from B' }, { content: 'from C' }]);
    const { ports: p, events, stored } = ports(llm, history);
    const outcome = await runWorkflow({ workflow: workflow(), runId: 'r1', userMessage: 'hi' }, p);
    expect(llm.requests.map((r) => r.agent)).toEqual(['B', 'C']);
    expect(events.filter((e) => e.type === 'agent_message').map((e) => (e as { content: string }).content)).toEqual([
      'from B',
      'from C',
    ]);
    expect(stored.filter((m) => m.role === 'user')).toHaveLength(1);
    expect(outcome).toMatchObject({ turns: 3, reason: 'agents_done' });
  });

  it('runs the tool calls left without results, then lets the same agent finish its turn', async () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'find', run_id: 'r1' },
      {
        role: 'assistant',
        agent: 'A',
        content: null,
        tool_calls: [{ id: 't1', name: 'lookup', arguments: '{"q":1}' }],
        run_id: 'r1',
      },
    ];
    const llm = new ScriptedLlmPort([{ content: 'found it' }]);
    const { ports: p, events, invocations } = ports(llm, history);
    await runWorkflow(
      { workflow: workflow({ agents: workflow().agents.slice(0, 1) }), runId: 'r1', userMessage: 'find' },
      p,
    );
    expect(invocations.map((i) => i.tool_call_id)).toEqual(['t1']);
    expect(events.map((e) => e.type)).toEqual(['tool_result', 'agent_message', 'workflow_complete']);
    expect(llm.requests[0]!.messages.slice(-2)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 't1', name: 'lookup', arguments: '{"q":1}' }] },
      { role: 'tool', tool_call_id: 't1', content: '{"found":{"q":1}}' },
    ]);
  });

  it('completes a run whose terminating reply was committed, without another turn', async () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'hi', run_id: 'r1' },
      { role: 'assistant', agent: 'A', content: 'done', final: true, ended: 'terminated', run_id: 'r1' },
    ];
    const llm = new ScriptedLlmPort([]);
    const { ports: p } = ports(llm, history);
    const outcome = await runWorkflow({ workflow: workflow(), runId: 'r1', userMessage: 'hi' }, p);
    expect(llm.requests).toHaveLength(0);
    expect(outcome).toMatchObject({ reason: 'terminated', turns: 1 });
  });

  it('stops between steps when aborted, committing no end, so the run can be resumed', async () => {
    const controller = new AbortController();
    const llm = new ScriptedLlmPort([]);
    const original = llm.complete.bind(llm);
    llm.complete = async (request) => {
      const reply = await original(request);
      controller.abort();
      return reply;
    };
    const { ports: p, commits } = ports(llm);
    await expect(
      runWorkflow({ workflow: workflow(), runId: 'r1', userMessage: 'hi', signal: controller.signal }, p),
    ).rejects.toBeInstanceOf(RunAbortedError);
    expect(commits.some((c) => c.finish)).toBe(false);
    expect(commits).toHaveLength(1);
  });
});

describe('orchestration patterns and handoffs', () => {
  const expression = (text: string) => parseExpression(text);

  it('RoundRobinPattern cycles through the agents until max_turns', async () => {
    const llm = new ScriptedLlmPort([]);
    const { ports: p } = ports(llm);
    const outcome = await runWorkflow(
      {
        workflow: workflow({ orchestration_pattern: 'RoundRobinPattern', max_turns: 5 }),
        runId: 'r',
        userMessage: 'go',
      },
      p,
    );
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'B', 'C', 'A', 'B']);
    expect(outcome).toMatchObject({ reason: 'max_turns', turns: 5 });
  });

  it('RandomPattern never gives the floor to the agent that just spoke', async () => {
    const llm = new ScriptedLlmPort([]);
    const { ports: p } = ports(llm);
    await runWorkflow(
      { workflow: workflow({ orchestration_pattern: 'RandomPattern', max_turns: 12 }), runId: 'r', userMessage: 'go' },
      p,
    );
    const speakers = llm.requests.map((r) => r.agent);
    expect(speakers).toHaveLength(12);
    expect(speakers[0]).toBe('A');
    speakers.slice(1).forEach((s, i) => expect(s).not.toBe(speakers[i]));
  });

  it('DefaultPattern with handoffs: an expression on context variables seeded from the token, else after_work, else the end', async () => {
    const handoffs = [
      {
        source_agent: 'A',
        target: 'C',
        kind: 'expression' as const,
        condition: '${vip} == true',
        expression: expression('${vip} == true'),
      },
      { source_agent: 'A', target: 'B', kind: 'after_work' as const },
    ];
    const wf = workflow({ handoffs, context_variables: [{ name: 'vip', type: 'boolean', default: false }] });
    const regular = new ScriptedLlmPort([]);
    await runWorkflow({ workflow: wf, runId: 'r1', userMessage: 'hi' }, ports(regular).ports);
    // A → after_work B → B has no rule and the workflow no after_work: the run ends.
    expect(regular.requests.map((r) => r.agent)).toEqual(['A', 'B']);
    const vip = new ScriptedLlmPort([]);
    const outcome = await runWorkflow(
      { workflow: wf, runId: 'r2', userMessage: 'hi', claims: { vip: true } },
      ports(vip).ports,
    );
    expect(vip.requests.map((r) => r.agent)).toEqual(['A', 'C']);
    expect(outcome.reason).toBe('terminated');
  });

  it('DefaultPattern with handoffs: an llm condition is a tool the agent calls to hand over, shown to no client', async () => {
    const handoffs = [
      { source_agent: 'A', target: 'C', kind: 'llm' as const, condition: 'the user asks for a human' },
      { source_agent: 'C', target: 'user', kind: 'after_work' as const },
    ];
    const llm = new ScriptedLlmPort([
      { content: 'Passing you on.', tool_calls: [{ id: 'h1', name: 'handoff_to_C', arguments: '{}' }] },
      { content: 'C here. Your turn.' },
    ]);
    const { ports: p, events, stored } = ports(llm);
    const outcome = await runWorkflow(
      { workflow: workflow({ handoffs }), runId: 'r', userMessage: 'a human please' },
      p,
    );
    expect(llm.requests[0]!.tools.map((t) => t.name)).toEqual(['lookup', 'handoff_to_C']);
    expect(llm.requests[0]!.tools[1]!.description).toBe(
      'Hand the conversation over to C when: the user asks for a human',
    );
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'C']);
    expect(events.map((e) => e.type)).toEqual(['agent_message', 'agent_message', 'workflow_complete']);
    expect(outcome).toMatchObject({ reason: 'awaiting_user', turns: 2 });
    // The handoff is in the history, answered, so the conversation stays valid for the model.
    expect(stored.filter((m) => m.role === 'tool').map((m) => (m as { content: string }).content)).toEqual([
      '{"handed_over_to":"C"}',
    ]);
  });

  it('resumes a handoff decided before a crash without asking the pattern again', async () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'hi', run_id: 'r1' },
      { role: 'assistant', agent: 'A', content: 'to C', final: true, next: 'C', run_id: 'r1' },
    ];
    const llm = new ScriptedLlmPort([]);
    const outcome = await runWorkflow(
      {
        workflow: workflow({ handoffs: [{ source_agent: 'A', target: 'B', kind: 'after_work' }] }),
        runId: 'r1',
        userMessage: 'hi',
      },
      ports(llm, history).ports,
    );
    expect(llm.requests.map((r) => r.agent)).toEqual(['C']);
    expect(outcome.turns).toBe(2);
  });
});

describe('AutoPattern', () => {
  it("asks a model who speaks next from the agents' names and roles, and bills the asking", async () => {
    const llm = new ScriptedLlmPort([
      { content: 'A here.' },
      { content: 'C' },
      { content: 'C here.' },
      { content: 'TERMINATE' },
    ]);
    const { ports: p, commits } = ports(llm);
    const outcome = await runWorkflow(
      { workflow: workflow({ orchestration_pattern: 'AutoPattern' }), runId: 'r', userMessage: 'go' },
      p,
    );
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'speaker_selector', 'C', 'speaker_selector']);
    expect(llm.requests[1]!.messages[0]!.content).toContain('- A: first');
    expect(llm.requests[1]!.messages[1]!.content).toContain('A: A here.');
    expect(outcome).toMatchObject({ reason: 'terminated', turns: 2 });
    const billed = commits.flatMap((c) => c.calls ?? []).map((c) => c.agent);
    expect(billed.sort()).toEqual(['A', 'C', 'speaker_selector', 'speaker_selector']);
  });

  it('falls back to the next agent in order when the model names none', async () => {
    const llm = new ScriptedLlmPort([
      { content: 'A here.' },
      { content: 'whoever you like' },
      { content: 'B here.' },
      { content: 'TERMINATE' },
    ]);
    await runWorkflow(
      { workflow: workflow({ orchestration_pattern: 'AutoPattern' }), runId: 'r', userMessage: 'go' },
      ports(llm).ports,
    );
    expect(llm.requests.filter((r) => r.agent !== 'speaker_selector').map((r) => r.agent)).toEqual(['A', 'B']);
  });
});

describe('structured outputs', () => {
  const check = (value: unknown) =>
    typeof value === 'object' && value !== null && typeof (value as { complete?: unknown }).complete === 'boolean'
      ? []
      : ['/complete must be boolean'];
  const structuredWorkflow = () => {
    const wf = workflow({ agents: workflow().agents.slice(1, 2) });
    wf.initial_agent = 'B';
    wf.agents[0]!.structured_output = { name: 'review', schema: { type: 'object' }, check };
    return wf;
  };

  it('asks for the schema, and puts the checked object on the agent_message', async () => {
    const llm = new ScriptedLlmPort([{ content: '{"complete": true}' }]);
    const { ports: p, events, lives } = ports(llm);
    await runWorkflow({ workflow: structuredWorkflow(), runId: 'r', userMessage: 'review it' }, p);
    expect(llm.requests[0]!.response_format).toEqual({ name: 'review', schema: { type: 'object' } });
    expect(events[0]).toMatchObject({
      type: 'agent_message',
      content: '{"complete": true}',
      structured: { complete: true },
    });
    expect(lives).toEqual([]);
  });

  it('gives a non-conforming reply one chance to correct itself, billing both calls', async () => {
    const llm = new ScriptedLlmPort([{ content: 'It looks complete to me.' }, { content: '{"complete": false}' }]);
    const { ports: p, events, commits } = ports(llm);
    await runWorkflow({ workflow: structuredWorkflow(), runId: 'r', userMessage: 'review it' }, p);
    expect(llm.requests[1]!.messages.at(-1)!.content).toContain('Problems: the reply is not JSON');
    expect(events.filter((e) => e.type === 'agent_message')).toEqual([
      expect.objectContaining({ structured: { complete: false } }),
    ]);
    expect(commits.flatMap((c) => c.calls ?? [])).toHaveLength(2);
  });

  it('fails the run when the correction does not conform either', async () => {
    const llm = new ScriptedLlmPort([{ content: '{"complete": "yes"}' }, { content: '{"complete": "still yes"}' }]);
    const { ports: p, events } = ports(llm);
    const outcome = await runWorkflow({ workflow: structuredWorkflow(), runId: 'r', userMessage: 'review it' }, p);
    expect(outcome.status).toBe('failed');
    expect(events[0]).toMatchObject({
      type: 'error',
      code: 'llm_error',
      message: expect.stringContaining('/complete must be boolean'),
    });
    expect(outcome.calls).toHaveLength(2);
  });
});

describe('tools that steer', () => {
  const steered = () =>
    workflow({
      context_variables: [{ name: 'collected', type: 'boolean', default: false }],
      handoffs: [
        {
          source_agent: 'A',
          target: 'B',
          kind: 'expression',
          condition: '${collected} == true',
          expression: parseExpression('${collected} == true'),
        },
      ],
    });

  it('updates declared context variables from a tool result, persists them, and routes on them', async () => {
    const llm = new ScriptedLlmPort([
      { tool_calls: [{ id: 't1', name: 'lookup', arguments: '{}' }] },
      { content: 'Collected.' },
      { content: 'B checks.' },
    ]);
    const { ports: p, commits } = ports(llm, [], async () => ({
      ok: true,
      result: { saved: true, $context: { collected: true, undeclared: 1 } },
      duration_ms: 1,
    }));
    // (A value of the wrong type would be ignored: see the next test.)
    await runWorkflow({ workflow: steered(), runId: 'r', userMessage: 'collect' }, p);
    expect(commits.find((c) => c.variables)?.variables).toEqual({ collected: true });
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'A', 'B']);
  });

  it('ignores an update of the wrong type', async () => {
    const llm = new ScriptedLlmPort([
      { tool_calls: [{ id: 't1', name: 'lookup', arguments: '{}' }] },
      { content: 'Hm.' },
    ]);
    const { ports: p, commits } = ports(llm, [], async () => ({
      ok: true,
      result: { $context: { collected: 'yes' } },
      duration_ms: 1,
    }));
    await runWorkflow({ workflow: steered(), runId: 'r', userMessage: 'collect' }, p);
    expect(commits.some((c) => c.variables)).toBe(false);
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'A']);
  });

  it('starts from the variables the chat kept', async () => {
    const llm = new ScriptedLlmPort([]);
    await runWorkflow(
      { workflow: steered(), runId: 'r', userMessage: 'again', variables: { collected: true } },
      ports(llm).ports,
    );
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'B']);
  });

  it("hands the conversation over when a tool returns $handoff, ending the agent's turn", async () => {
    const llm = new ScriptedLlmPort([
      { tool_calls: [{ id: 't1', name: 'lookup', arguments: '{}' }] },
      { content: 'C takes over.' },
    ]);
    const { ports: p, stored } = ports(llm, [], async () => ({ ok: true, result: { $handoff: 'C' }, duration_ms: 1 }));
    const outcome = await runWorkflow(
      {
        workflow: workflow({ handoffs: [{ source_agent: 'C', target: 'terminate', kind: 'after_work' }] }),
        runId: 'r',
        userMessage: 'go',
      },
      p,
    );
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'C']);
    expect(outcome).toMatchObject({ turns: 2, reason: 'terminated' });
    expect(stored.find((m) => m.role === 'tool')).toMatchObject({ ends_turn: { next: 'C' } });
    // Resumed after the handoff, the run goes on with C, not A.
    const again = new ScriptedLlmPort([]);
    await runWorkflow(
      {
        workflow: workflow({ handoffs: [{ source_agent: 'C', target: 'terminate', kind: 'after_work' }] }),
        runId: 'r',
        userMessage: 'go',
      },
      ports(again, stored.slice(0, 3)).ports,
    );
    expect(again.requests.map((r) => r.agent)).toEqual(['C']);
  });
});

describe('ManualPattern', () => {
  it('asks the user who speaks next after every turn, and gives the floor to the one chosen', async () => {
    const wf = workflow({ orchestration_pattern: 'ManualPattern' });
    const llm = new ScriptedLlmPort([{ content: 'A answers.' }, { content: 'C answers.' }]);
    const first = ports(llm);
    const outcome = await runWorkflow({ workflow: wf, runId: 'r1', userMessage: 'hello' }, first.ports);
    expect(outcome.reason).toBe('awaiting_input');
    expect(first.events.find((e) => e.type === 'input_request')).toMatchObject({
      agent: 'A',
      options: ['A', 'B', 'C'],
      prompt: 'Who speaks next? One of: A, B, C.',
    });
    expect(first.commits.at(-1)!.awaitInput).toEqual({ request_id: 'req_r1', agent: 'A' });

    const second = ports(llm, first.stored);
    await runWorkflow({ workflow: wf, runId: 'r2', startWith: 'C' }, second.ports);
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'C']);
    expect(second.stored.filter((m) => m.role === 'user')).toHaveLength(1);
    expect(second.events.find((e) => e.type === 'input_request')).toMatchObject({ agent: 'C' });
  });
});

describe('runWorkflow cancelled', () => {
  it('stops an LLM call in flight and ends cancelled, billing what the call had used', async () => {
    const cancel = new AbortController();
    const llm: LlmClient = {
      complete: (request, options) =>
        new Promise((_resolve, reject) => {
          options?.onDelta?.('half');
          options?.signal?.addEventListener('abort', () =>
            reject(
              Object.assign(new Error('stopped'), {
                usage: {
                  call_id: 'c1',
                  agent: request.agent,
                  model: 'm',
                  prompt_tokens: 7,
                  completion_tokens: 1,
                  total_tokens: 8,
                  estimated: true,
                },
              }),
            ),
          );
          setTimeout(() => cancel.abort(), 20);
        }),
    };
    const { ports: p, commits, events } = ports(llm);
    const outcome = await runWorkflow(
      { workflow: workflow(), runId: 'r1', userMessage: 'hi', cancel: cancel.signal },
      p,
    );
    expect(outcome).toMatchObject({ status: 'cancelled', reason: 'cancelled', turns: 0 });
    expect(events.map((e) => e.type)).toEqual(['workflow_complete']);
    expect(events[0]).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    // One step: the user's message, the run's end, and the stopped call's usage.
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({
      finish: 'cancelled',
      messages: [{ role: 'user', content: 'hi' }],
      calls: [{ call_id: 'c1', estimated: true }],
    });
  });

  it('abandons a tool call in flight: its late result is not used, and no other call starts', async () => {
    const cancel = new AbortController();
    let finishTool: (o: ToolOutcome) => void = () => undefined;
    const llm = new ScriptedLlmPort([
      { tool_calls: [{ id: 't1', name: 'lookup', arguments: '{}' }] },
      { content: 'must not be asked' },
    ]);
    const {
      ports: p,
      commits,
      events,
    } = ports(
      llm,
      [],
      () => new Promise<ToolOutcome>((resolve) => ((finishTool = resolve), setTimeout(() => cancel.abort(), 20))),
    );
    const outcome = await runWorkflow(
      { workflow: workflow(), runId: 'r1', userMessage: 'hi', cancel: cancel.signal },
      p,
    );
    finishTool({ ok: true, result: { late: true }, duration_ms: 1 });
    await new Promise((r) => setTimeout(r, 10));
    expect(outcome.status).toBe('cancelled');
    expect(llm.requests).toHaveLength(1);
    expect(events.map((e) => e.type)).toEqual(['tool_call', 'workflow_complete']);
    expect(commits.at(-1)).toMatchObject({ finish: 'cancelled' });
    expect(JSON.stringify(commits)).not.toContain('late');
  });

  it('ends at once as cancelled when cancelled before it starts', async () => {
    const cancel = new AbortController();
    cancel.abort();
    const llm = new ScriptedLlmPort([{ content: 'never' }]);
    const { ports: p, events } = ports(llm);
    expect(
      await runWorkflow({ workflow: workflow(), runId: 'r1', userMessage: 'hi', cancel: cancel.signal }, p),
    ).toMatchObject({ status: 'cancelled' });
    expect(llm.requests).toHaveLength(0);
    expect(events.map((e) => e.type)).toEqual(['workflow_complete']);
  });
});

describe('behaviours of workflows from the Python runtime', () => {
  const expression = (text: string) => parseExpression(text);

  it("routes the user's message by rules from user; with none that holds, the agent that asked answers", async () => {
    const wf = workflow({
      context_variables: [{ name: 'ready', type: 'boolean', default: false }],
      handoffs: [
        {
          source_agent: 'user',
          target: 'C',
          kind: 'expression',
          condition: '${ready} == True',
          expression: expression('${ready} == True'),
        },
      ],
    });
    const first = new ScriptedLlmPort([]);
    await runWorkflow(
      {
        workflow: { ...wf, handoffs: [...wf.handoffs, { source_agent: 'C', target: 'terminate', kind: 'after_work' }] },
        runId: 'r1',
        userMessage: 'hi',
        fromUser: true,
        startWith: 'B',
        variables: { ready: true },
      },
      ports(first).ports,
    );
    expect(first.requests.map((r) => r.agent)[0]).toBe('C');
    const second = new ScriptedLlmPort([]);
    await runWorkflow(
      { workflow: wf, runId: 'r2', userMessage: 'hi', fromUser: true, startWith: 'B' },
      ports(second).ports,
    );
    expect(second.requests.map((r) => r.agent)[0]).toBe('B');
  });

  it("sets a variable from an agent's words before its handoff conditions are read, hiding the reply when asked", async () => {
    const wf = workflow({
      context_variables: [
        {
          name: 'done',
          type: 'boolean',
          default: false,
          triggers: [{ type: 'agent_text', agent: 'A', match: { contains: 'NEXT' }, ui_hidden: true }],
        },
      ],
      handoffs: [
        { source_agent: 'A', target: 'C', kind: 'expression', condition: '${done}', expression: expression('${done}') },
        { source_agent: 'A', target: 'terminate', kind: 'after_work' },
        { source_agent: 'C', target: 'terminate', kind: 'after_work' },
      ],
    });
    const llm = new ScriptedLlmPort([{ content: 'ok, NEXT' }, { content: 'from C' }]);
    const { ports: p, events, commits, deltas } = ports(llm);
    await runWorkflow({ workflow: wf, runId: 'r', userMessage: 'go' }, p);
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'C']);
    expect(events.filter((e) => e.type === 'agent_message').map((e) => (e as { content: string }).content)).toEqual([
      'from C',
    ]);
    expect(commits.find((c) => c.variables)?.variables).toEqual({ done: true });
    expect(deltas.map((d) => (d as { agent: string }).agent)).toEqual(['A', 'C']);
  });

  it("shows one UI tool at a time and parks the run on it; its response is the call's result", async () => {
    const ui = {
      name: 'review',
      agent: 'A',
      file: 't.py',
      function: 'review',
      description: 'Review',
      tool_type: 'UI_Tool' as const,
      parameters: { type: 'object' },
      env: [],
      ui: { component: 'Review', display: 'inline' as const },
    };
    const wf = workflow({ agents: [{ name: 'A', system_message: 'A', llm_config: {}, tools: [ui] }], tools: [ui] });
    const llm = new ScriptedLlmPort([
      {
        tool_calls: [
          { id: 'u1', name: 'review', arguments: '{"x": 1}' },
          { id: 'u2', name: 'review', arguments: '{}' },
        ],
      },
    ]);
    const { ports: p, events, stored, commits } = ports(llm);
    const outcome = await runWorkflow({ workflow: wf, runId: 'r1', userMessage: 'go' }, p);
    expect(outcome.reason).toBe('awaiting_input');
    expect(events.map((e) => e.type)).toEqual([
      'tool_call',
      'tool_call',
      'tool_result',
      'ui_tool',
      'workflow_complete',
    ]);
    expect(events[2]).toMatchObject({ tool_call_id: 'u2', ok: false, error: { code: 'invalid_tool_call' } });
    expect(events[3]).toMatchObject({ tool_call_id: 'u1', component: 'Review', display: 'inline', payload: { x: 1 } });
    expect(commits.at(-1)!.awaitInput).toEqual({ request_id: 'ui_r1_u1', agent: 'A', tool_call_id: 'u1' });

    const next = new ScriptedLlmPort([{ content: 'thanks' }]);
    const resumed = ports(next, stored);
    await runWorkflow(
      { workflow: wf, runId: 'r2', uiResponse: { tool_call_id: 'u1', response: { ok: 'yes' } }, startWith: 'A' },
      resumed.ports,
    );
    expect(resumed.events.map((e) => e.type)).toEqual(['tool_result', 'agent_message', 'workflow_complete']);
    // The agent sees the response as the result of its call.
    expect(next.requests[0]!.messages.filter((m) => m.role === 'tool').at(-1)).toMatchObject({
      tool_call_id: 'u1',
      content: '{"ok":"yes"}',
    });
  });
});

describe('auto_tool_mode', () => {
  const check = (value: unknown) =>
    typeof value === 'object' && value !== null && 'Plan' in value ? [] : ['must have Plan'];
  const saver = {
    name: 'save_plan',
    agent: 'A',
    file: 't.py',
    function: 'save_plan',
    description: 'Saves',
    tool_type: 'Agent_Tool' as const,
    parameters: { type: 'object', properties: { plan: { type: 'object' } } },
    env: [],
    auto_invoke: true,
  };
  const other = {
    name: 'lookup',
    agent: 'A',
    file: 't.js',
    function: 'lookup',
    description: 'Looks up',
    tool_type: 'Agent_Tool' as const,
    parameters: { type: 'object' },
    env: [],
  };
  const autoWorkflow = (tool: ToolDefinition) => {
    const wf = workflow();
    wf.agents[0] = {
      ...wf.agents[0]!,
      tools: [tool, other],
      structured_output: { name: 'PlanOutput', schema: { type: 'object' }, check },
      auto_tool: tool,
    };
    wf.tools = [tool, other];
    wf.max_turns = 2;
    return wf;
  };

  it('offers the agent no tools, passes its structured reply to its tool by parameter name, and ends its turn with the result', async () => {
    const llm = new ScriptedLlmPort([
      { content: 'Here it is: {"Plan": {"steps": 2}, "ignored": 1}' },
      { content: 'B goes on.' },
    ]);
    const { ports: p, events, invocations, stored } = ports(llm);
    const outcome = await runWorkflow({ workflow: autoWorkflow(saver), runId: 'r', userMessage: 'plan' }, p);
    expect(outcome.status).toBe('completed');
    expect(llm.requests[0]!.tools).toEqual([]);
    expect(invocations).toEqual([expect.objectContaining({ agent: 'A', args: { plan: { steps: 2 } } })]);
    expect(events.map((e) => e.type)).toEqual([
      'agent_message',
      'tool_call',
      'tool_result',
      'agent_message',
      'workflow_complete',
    ]);
    expect(events[1]).toMatchObject({ name: 'save_plan', arguments: { plan: { steps: 2 } } });
    // A replied once; the next speaker is B, who sees the tool's result in the history.
    expect(llm.requests.map((r) => r.agent)).toEqual(['A', 'B']);
    expect(stored.filter((m) => m.role === 'tool').at(-1)).toMatchObject({ ends_turn: { next: 'B' } });
  });

  it('runs the call left without a result after a crash, once, and goes on to the next agent', async () => {
    // The reply and its call were committed; the executor died before the result was.
    const history: ChatMessage[] = [
      { role: 'user', content: 'plan', run_id: 'r' },
      {
        role: 'assistant',
        agent: 'A',
        content: '{"Plan": {"steps": 1}}',
        tool_calls: [{ id: 'auto_r_1', name: 'save_plan', arguments: '{"plan":{"steps":1}}' }],
        auto_tool: true,
        run_id: 'r',
      },
    ];
    const again = new ScriptedLlmPort([{ content: 'B goes on.' }]);
    const resumed = ports(again, history);
    await runWorkflow({ workflow: autoWorkflow(saver), runId: 'r', userMessage: 'plan' }, resumed.ports);
    expect(resumed.invocations).toEqual([expect.objectContaining({ args: { plan: { steps: 1 } } })]);
    expect(again.requests.map((r) => r.agent)).toEqual(['B']);
  });

  it("shows a UI tool with the structured reply as its payload; the response ends the asking agent's turn", async () => {
    const ui = {
      ...saver,
      name: 'show_plan',
      tool_type: 'UI_Tool' as const,
      ui: { component: 'PlanView', display: 'artifact' as const },
    };
    const llm = new ScriptedLlmPort([{ content: '{"Plan": {"steps": 3}}' }]);
    const { ports: p, events, stored, invocations } = ports(llm);
    const outcome = await runWorkflow({ workflow: autoWorkflow(ui), runId: 'r1', userMessage: 'plan' }, p);
    expect(outcome.reason).toBe('awaiting_input');
    expect(invocations).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['agent_message', 'tool_call', 'ui_tool', 'workflow_complete']);
    const shown = events[2] as { tool_call_id: string; payload: unknown; display: string };
    expect(shown).toMatchObject({ component: 'PlanView', display: 'artifact', payload: { plan: { steps: 3 } } });

    const next = new ScriptedLlmPort([{ content: 'B goes on.' }]);
    const resumed = ports(next, stored);
    await runWorkflow(
      {
        workflow: autoWorkflow(ui),
        runId: 'r2',
        uiResponse: { tool_call_id: shown.tool_call_id, response: { approved: true } },
        startWith: 'A',
      },
      resumed.ports,
    );
    expect(resumed.events.map((e) => e.type)).toEqual(['tool_result', 'agent_message', 'workflow_complete']);
    expect(next.requests.map((r) => r.agent)).toEqual(['B']);
  });
});
