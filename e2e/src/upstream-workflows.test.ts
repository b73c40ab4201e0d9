// A workflow folder written for the Python MozaiksAI runtime runs as it is: prompt sections, agents
// keyed by name, context variables from the environment, state variables flipped by an agent's
// words and by a UI tool's response, routing of the user's messages by rules from `user`, a Python
// tool that reads and writes context_variables with its schema taken from its signature, a UI tool
// the run waits on across a restart, structured outputs from models + registry, and per-call usage.
import { WsTestClient, makeTempDir, mintToken } from '@mozaiks/testing';
import type { TestEvent } from '@mozaiks/testing';
import { FIXTURE_WORKFLOWS, SHIPPED_WORKFLOWS, startTestRuntime } from './harness';

const usage = { prompt_tokens: 10, completion_tokens: 5 };
/** Events of a conversation without the per-call usage, which is checked on its own. */
const said = (events: TestEvent[]) => events.filter((e) => e.type !== 'usage_delta').map((e) => e.type);
const systemOf = (request: { messages: Array<{ role: string; content?: unknown }> }) =>
  String(request.messages[0]!.content);

describe('a workflow folder of the Python MozaiksAI runtime', () => {
  it('runs its interview, plan review and routing as written, across a restart', async () => {
    const data = makeTempDir('mozaiks-upstream-');
    const token = await mintToken({ claims: { workflow_id: 'upstream_planner', chat_id: 'chat_upstream' } });
    const env = { PLANNER_REGION: 'eu-west' };
    try {
      const first = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS, dataDir: data, env });
      let review: TestEvent;
      try {
        first.llm.push(
          { tool_calls: [{ id: 'c1', name: 'record_name', arguments: '{"name": "Ada"}' }], usage },
          { content: 'Nice to meet you, Ada. What should we plan?', usage },
        );
        const client = await WsTestClient.connect(first.wsUrl(token));
        // 1. Rules from `user`: interview_complete is False, so the Interviewer answers.
        const opening = await client.exchange('Hello');
        expect(said(opening)).toEqual([
          'tool_call',
          'tool_result',
          'agent_message',
          'input_request',
          'workflow_complete',
          'usage_update',
        ]);
        const [request0, request1] = first.llm.requests;
        // prompt_sections joined under their headings; only the variables listed for the agent.
        expect(systemOf(request0!)).toContain(
          "[ROLE]\nYou find out what the user wants planned.\n\n[INSTRUCTIONS]\n1. Record the user's name with record_name.",
        );
        expect(systemOf(request0!)).toContain(
          'Context variables (JSON): {"user_name":null,"interview_complete":false}',
        );
        // The tool's schema comes from its signature and docstring; context_variables is not offered.
        expect(request0!.tools).toEqual([
          {
            type: 'function',
            function: {
              name: 'record_name',
              description: "Record the user's name in the chat's context.",
              parameters: {
                type: 'object',
                properties: {
                  name: { type: 'string', description: "The user's name, as they gave it" },
                  title: {
                    anyOf: [{ type: 'string' }, { type: 'null' }],
                    description: 'How the user wants to be addressed.',
                  },
                },
                required: ['name'],
                additionalProperties: false,
              },
            },
          },
        ]);
        // The Python tool read the chat's ids and set user_name (kept); its undeclared write was not.
        const result = opening.find((e) => e.type === 'tool_result')!;
        expect(result).toMatchObject({
          ok: true,
          result: { status: 'recorded', name: 'Ada', chat_id: 'chat_upstream' },
        });
        expect((result.result as { seen: string[] }).seen).toEqual(
          expect.arrayContaining(['chat_id', 'app_id', 'user_id', 'workflow_name', 'user_name', 'interview_complete']),
        );
        expect(systemOf(request1!)).toContain(
          'Context variables (JSON): {"user_name":"Ada","interview_complete":false}',
        );
        // One usage_delta per model call, adding up to the run's usage_update.
        const deltas = opening.filter((e) => e.type === 'usage_delta');
        expect(deltas.map((d) => [d.agent, d.total_tokens])).toEqual([
          ['Interviewer', 15],
          ['Interviewer', 15],
        ]);
        expect(deltas.every((d) => typeof d.duration_ms === 'number')).toBe(true);
        expect(opening.at(-1)).toMatchObject({ type: 'usage_update', total_tokens: 30 });

        // 2. The answer goes to the Interviewer, who says the hidden trigger word: interview_complete
        // flips, the user never sees "NEXT", and the condition on it hands over to the Planner on
        // the same turn. The Planner calls its UI tool, and the run waits.
        first.llm.push(
          { content: 'NEXT', usage },
          { tool_calls: [{ id: 'ui1', name: 'review_plan', arguments: '{"steps": ["collect", "check"]}' }], usage },
        );
        const request = opening.find((e) => e.type === 'input_request')!;
        const from = client.events.length;
        client.send({ type: 'user_input', request_id: request.request_id, content: 'A launch plan' });
        await client.waitForType('usage_update', { from });
        const handover = client.events.slice(from);
        expect(said(handover)).toEqual(['tool_call', 'ui_tool', 'workflow_complete', 'usage_update']);
        expect(handover.some((e) => e.type === 'agent_message')).toBe(false);
        // Its update_agent_state hook (Python, in the tool-runner) addressed the user by the name the tool kept.
        expect(systemOf(first.llm.requests[3]!)).toMatch(
          /^\[ROLE\][^]*\[ADDRESSING\]\nCall the user Ada\.\n\nContext variables/,
        );
        review = handover.find((e) => e.type === 'ui_tool')!;
        expect(review).toMatchObject({
          agent: 'Planner',
          tool_call_id: 'ui1',
          name: 'review_plan',
          component: 'PlanReview',
          display: 'artifact',
          payload: { steps: ['collect', 'check'] },
        });
        expect(handover.find((e) => e.type === 'workflow_complete')).toMatchObject({
          reason: 'awaiting_input',
          status: 'completed',
        });
        // The Planner saw the deployment's region (env_var) and the user's name, and was offered its UI tool.
        const planner = first.llm.requests[3]!;
        expect(systemOf(planner)).toContain(
          'Context variables (JSON): {"user_name":"Ada","planning_region":"eu-west","plan_acceptance":"pending"}',
        );
        expect(planner.tools?.map((t) => t.function.name)).toEqual(['review_plan']);
        expect(planner.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'PlanOutput' } });
        await client.close();
      } finally {
        await first.stop();
      }

      // 3. Another runtime on the same store: the response to the UI tool is the call's result,
      // its ui_response trigger sets plan_acceptance, and the Planner answers in its structured
      // form (fenced JSON after prose, parsed tolerantly).
      const second = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS, dataDir: data, env });
      try {
        const plan = {
          steps: [
            { title: 'collect', owner: 'Ada' },
            { title: 'check', owner: null },
          ],
          confidence: 'high',
        };
        second.llm.push({ content: `Here is the plan:\n\`\`\`json\n${JSON.stringify(plan)}\n\`\`\``, usage });
        const back = await WsTestClient.connect(second.wsUrl(token));
        back.send({ type: 'ui_tool_response', tool_call_id: 'nope', response: {} });
        expect(await back.waitForType('error')).toMatchObject({ code: 'no_such_input_request' });
        const from = back.events.length;
        back.send({
          type: 'ui_tool_response',
          tool_call_id: review.tool_call_id,
          response: { plan_acceptance: 'accepted' },
        });
        await back.waitForType('usage_update', { from });
        const answered = back.events.slice(from);
        expect(said(answered)).toEqual([
          'tool_result',
          'agent_message',
          'input_request',
          'workflow_complete',
          'usage_update',
        ]);
        expect(answered[0]).toMatchObject({ tool_call_id: 'ui1', ok: true, result: { plan_acceptance: 'accepted' } });
        expect(answered.find((e) => e.type === 'agent_message')).toMatchObject({ agent: 'Planner', structured: plan });
        const [planner] = second.llm.requests;
        expect(systemOf(planner!)).toContain('"plan_acceptance":"accepted"');
        expect(planner!.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'ui1' });

        // 4. "That's all": neither expression from `user` holds, the string_llm condition is asked
        // of a model, which finds it met: the run terminates without an agent turn.
        second.llm.push({ content: '1', usage });
        const ask = answered.find((e) => e.type === 'input_request')!;
        const at = back.events.length;
        back.send({ type: 'user_input', request_id: ask.request_id, content: 'Perfect, that is all I needed.' });
        await back.waitForType('usage_update', { from: at });
        const ending = back.events.slice(at);
        expect(said(ending)).toEqual(['workflow_complete', 'usage_update']);
        expect(ending.find((e) => e.type === 'workflow_complete')).toMatchObject({ reason: 'terminated', turns: 0 });
        expect(ending.filter((e) => e.type === 'usage_delta').map((d) => d.agent)).toEqual(['user_router']);
        expect(String(second.llm.requests[1]!.messages[0]!.content)).toContain(
          '1. When the user says the plan is complete and nothing more is needed.',
        );

        // A reload restores the chat: the artifact to show is the last ui_tool in the history.
        const reload = await WsTestClient.connect(second.wsUrl(token));
        reload.send({ type: 'resume', last_seq: 0 });
        await reload.waitFor((e) => e.type === 'usage_update' && e.run_id === ending.at(-1)!.run_id);
        expect(reload.events.filter((e) => e.type === 'ui_tool').at(-1)).toMatchObject({
          component: 'PlanReview',
          display: 'artifact',
        });
        await Promise.all([back.close(), reload.close()]);
      } finally {
        await second.stop();
      }
    } finally {
      data.remove();
    }
  }, 60_000);

  it('passes structured replies to their tools (auto_tool_mode), runs hooks and lifecycle tools in the tool-runner, each failure told and the run going on', async () => {
    const rt = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS });
    try {
      const token = await mintToken({ claims: { workflow_id: 'upstream_pipeline', chat_id: 'chat_pipeline' } });
      const strategy = {
        goal: 'launch',
        phases: [
          { name: 'build', weeks: 2 },
          { name: 'ship', weeks: 1 },
        ],
      };
      rt.llm.push(
        { content: `\`\`\`json\n${JSON.stringify({ StrategyPlan: strategy })}\n\`\`\``, usage },
        { content: JSON.stringify({ headline: 'Launch in 3 weeks', phase_names: ['build', 'ship'] }), usage },
      );
      const client = await WsTestClient.connect(rt.wsUrl(token));
      const first = await client.exchange('Plan a product launch');
      expect(said(first)).toEqual([
        'hook', // before_chat
        'agent_message',
        'tool_call',
        'tool_result', // the Strategist's reply, passed to save_strategy
        'hook',
        'hook', // after_agent: count_turn, audit_strategy (failing)
        'agent_message',
        'tool_call',
        'ui_tool', // the Presenter's reply, shown by its UI tool
        'workflow_complete',
        'usage_update',
      ]);
      const hooks = first.filter((e) => e.type === 'hook');
      // Lifecycle tools run in the tool-runner's workers, never in the runtime's process.
      expect(hooks[0]).toMatchObject({ hook: 'before_chat', name: 'open_chat', ok: true });
      expect(hooks[0]!.agent).toBeUndefined();
      expect((hooks[0]!.result as { opened_by_pid: number }).opened_by_pid).not.toBe(process.pid);
      expect(hooks[1]).toMatchObject({ hook: 'after_agent', agent: 'Strategist', name: 'count_turn', ok: true });
      expect(hooks[2]).toMatchObject({
        hook: 'after_agent',
        agent: 'Strategist',
        name: 'audit_strategy',
        ok: false,
        error: { code: 'tool_failed', message: expect.stringContaining('audit service unreachable') },
      });
      // The model of an auto_tool_mode agent is offered no tools; its answer is the tool's arguments, key by parameter.
      const [strategist, presenter] = rt.llm.requests;
      expect(strategist!.tools ?? []).toEqual([]);
      expect(strategist!.response_format).toMatchObject({ json_schema: { name: 'StrategyOutput' } });
      const calls = first.filter((e) => e.type === 'tool_call');
      expect(calls[0]).toMatchObject({
        agent: 'Strategist',
        name: 'save_strategy',
        arguments: { StrategyPlan: strategy },
      });
      expect(first.find((e) => e.type === 'tool_result')).toMatchObject({
        ok: true,
        result: { saved: true, phases: 2 },
      });
      // The next agent sees what the tool kept; the update_agent_state hook adds nothing while phase_count is 0.
      expect(systemOf(presenter!)).toContain('"strategy":{"goal":"launch"');
      expect(systemOf(presenter!)).not.toContain('[PHASES]');
      const shown = first.find((e) => e.type === 'ui_tool')!;
      expect(shown).toMatchObject({
        agent: 'Presenter',
        name: 'present_strategy',
        component: 'StrategyReview',
        display: 'artifact',
        payload: { headline: 'Launch in 3 weeks', phase_names: ['build', 'ship'] },
      });
      expect(first.find((e) => e.type === 'workflow_complete')).toMatchObject({ reason: 'awaiting_input' });

      // The user approves: the response ends the Presenter's turn, its ui_response trigger sets
      // `approved`, the rule on it hands over to the Reporter, whose prompt a hook extends and
      // whose reply a hook signs.
      rt.llm.push({ content: 'The launch is approved with 2 phases. TERMINATE', usage });
      const from = client.events.length;
      client.send({ type: 'ui_tool_response', tool_call_id: String(shown.tool_call_id), response: { approved: true } });
      await client.waitForType('usage_update', { from });
      const second = client.events.slice(from);
      expect(said(second)).toEqual([
        'tool_result', // the response
        'hook',
        'hook', // after_agent Presenter: count_turn, slow_check (timed out)
        'hook', // before_agent Reporter: count_phases
        'agent_message',
        'hook', // after_agent Reporter: count_turn
        'hook', // after_chat: close_chat
        'workflow_complete',
        'usage_update',
      ]);
      const told = second.filter((e) => e.type === 'hook');
      expect(told.map((e) => [e.hook, e.agent, e.name, e.ok])).toEqual([
        ['after_agent', 'Presenter', 'count_turn', true],
        ['after_agent', 'Presenter', 'slow_check', false],
        ['before_agent', 'Reporter', 'count_phases', true],
        ['after_agent', 'Reporter', 'count_turn', true],
        ['after_chat', undefined, 'close_chat', true],
      ]);
      expect(told[1]).toMatchObject({ error: { code: 'timeout' } });
      expect(told[1]!.duration_ms).toBeLessThan(4000);
      expect(told[4]).toMatchObject({ result: { approved: true, turns: 3 } });
      const reporter = rt.llm.requests[2]!;
      expect(systemOf(reporter)).toMatch(
        /^\[ROLE\]\nYou report the outcome in one sentence, then say TERMINATE\.\n\n\[PHASES\]\nThe strategy has 2 phases\./,
      );
      expect(second.find((e) => e.type === 'agent_message')).toMatchObject({
        agent: 'Reporter',
        content: 'The launch is approved with 2 phases.\n-- Reporter',
      });
      expect(second.find((e) => e.type === 'workflow_complete')).toMatchObject({ reason: 'terminated' });
      await client.close();
    } finally {
      await rt.stop();
    }
  }, 60_000);

  it('starts a BackendOnly workflow with an HTTP call and the launch token; a socket opened later reads the run with resume', async () => {
    const rt = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS });
    try {
      const token = await mintToken({ claims: { workflow_id: 'upstream_digest', chat_id: 'chat_digest' } });
      const start = (body: string | undefined, bearer: string | undefined = token) =>
        fetch(`${rt.runtime.url}/chat/start`, {
          method: 'POST',
          headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body }),
        });
      // Refused without a token, with a bad one, and with a body that is not a start: nothing is stored.
      expect((await start(undefined, '')).status).toBe(401);
      expect(await (await start(undefined, 'not-a-jwt')).json()).toMatchObject({ error: 'unauthorized' });
      const bad = await start('{"content": 3}');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: 'invalid_message', message: expect.stringContaining('content') });
      expect(await (await start('{"request_id": "r1"}')).json()).toMatchObject({
        message: expect.stringContaining('request_id'),
      });
      expect((await fetch(`${rt.runtime.url}/chat/start`)).status).toBe(405);
      expect(rt.llm.requests).toHaveLength(0);

      rt.llm.push({ content: 'Line one. Line two. Line three.', usage });
      const started = await start(undefined);
      expect(started.status).toBe(202);
      expect(await started.json()).toMatchObject({
        chat_id: 'chat_digest',
        workflow_id: 'upstream_digest',
        created: true,
      });
      // The chat opens once, however often it is started.
      expect(await (await start(undefined)).json()).toMatchObject({ created: false });
      const deadline = Date.now() + 10_000;
      while (!rt.rawLogs().includes('"message":"workflow execution finished"') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(rt.llm.requests).toHaveLength(1);
      expect(rt.llm.requests[0]!.messages.at(-1)).toMatchObject({ role: 'user', content: "Write today's digest." });

      // A message for the chat, named so that a retry runs once.
      rt.llm.push({ content: 'Digest of the news.', usage });
      expect(
        await (await start(JSON.stringify({ content: 'Summarise the news', request_id: 'news-1' }))).json(),
      ).toMatchObject({ request_id: 'news-1', created: true });
      expect(
        await (await start(JSON.stringify({ content: 'Summarise the news', request_id: 'news-1' }))).json(),
      ).toMatchObject({ request_id: 'news-1', created: false });

      // Later, a socket reads everything both runs produced.
      const reader = await WsTestClient.connect(`${rt.wsUrl(token)}&last_seq=0`);
      await reader.waitFor(
        (e) => e.type === 'usage_update' && reader.events.filter((x) => x.type === 'usage_update').length === 2,
        { timeoutMs: 10_000 },
      );
      expect(said(reader.events)).toEqual([
        'agent_message',
        'workflow_complete',
        'usage_update',
        'agent_message',
        'workflow_complete',
        'usage_update',
      ]);
      expect(reader.events.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual([
        'Line one. Line two. Line three.',
        'Digest of the news.',
      ]);
      expect(rt.llm.requests).toHaveLength(2);
      await reader.close();
    } finally {
      await rt.stop();
    }
  }, 60_000);

  it("speaks the Python runtime's chat.* envelopes on its socket path, for its frontends, over the one protocol", async () => {
    const rt = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS, env: { PLANNER_REGION: 'eu-west' } });
    try {
      const ids = { workflow_id: 'upstream_planner', chat_id: 'chat_wire' };
      const token = await mintToken({ claims: ids });
      const base = rt.runtime.url.replace(/^http/, 'ws');
      const path = (user = 'user_123') => `${base}/ws/upstream_planner/app_456/chat_wire/${user}`;
      // Path ids are checked against the token's claims; the token comes as access_token.
      expect(await WsTestClient.handshakeStatus(`${path()}`)).toMatchObject({ status: 401 });
      const other = await WsTestClient.handshakeStatus(`${path('user_999')}?access_token=${token}`);
      expect(other.status).toBe(403);
      expect(JSON.parse(other.body)).toMatchObject({
        error: 'identity_mismatch',
        message: expect.stringContaining('user_id'),
      });

      rt.llm.push(
        { tool_calls: [{ id: 'c1', name: 'record_name', arguments: '{"name": "Ada"}' }], usage },
        { content: 'Nice to meet you, Ada. What should we plan?', usage },
      );
      const ui = await WsTestClient.connect(`${path()}?access_token=${token}`);
      // The reply's text as it streams comes as chat.print; per-call usage as chat.usage_delta.
      const types = (from: number) =>
        ui.events
          .slice(from)
          .map((e) => e.type)
          .filter((t) => t !== 'chat.print' && t !== 'chat.usage_delta');
      ui.send({ type: 'user.input.submit', chat_id: 'chat_wire', text: 'Hello' });
      await ui.waitForType('chat.usage_summary');
      expect(types(0)).toEqual([
        'chat.tool_call',
        'chat.tool_response',
        'chat.text',
        'chat.input_request',
        'chat.usage_summary',
      ]);
      for (const e of ui.events) expect(Object.keys(e).sort()).toEqual(['data', 'timestamp', 'type']);
      expect(ui.events.filter((e) => e.type === 'chat.usage_delta').map((e) => e.data)).toEqual([
        expect.objectContaining({ kind: 'usage_delta', agent: 'Interviewer', total_tokens: 15 }),
        expect.objectContaining({ agent: 'Interviewer', total_tokens: 15 }),
      ]);
      expect(
        ui.events
          .filter((e) => e.type === 'chat.print')
          .map((e) => (e.data as { content: string }).content)
          .join(''),
      ).toBe('Nice to meet you, Ada. What should we plan?');
      const of = (type: string, n = 0) => ui.events.filter((e) => e.type === type)[n]!.data as Record<string, unknown>;
      expect(of('chat.tool_call')).toMatchObject({
        kind: 'tool_call',
        call_id: 'c1',
        name: 'record_name',
        agent: 'Interviewer',
        arguments: { name: 'Ada' },
        sequence: 1,
      });
      expect(of('chat.tool_response')).toMatchObject({
        kind: 'tool_response',
        call_id: 'c1',
        status: 'ok',
        result: { status: 'recorded', name: 'Ada' },
      });
      expect(of('chat.text')).toMatchObject({
        kind: 'text',
        agent: 'Interviewer',
        content: 'Nice to meet you, Ada. What should we plan?',
      });
      const asked = of('chat.input_request');
      expect(asked).toMatchObject({
        kind: 'input_request',
        agent: 'Interviewer',
        prompt: 'Nice to meet you, Ada. What should we plan?',
        request_id: expect.any(String),
      });
      expect(of('chat.usage_summary')).toMatchObject({
        kind: 'usage_summary',
        usage: { total_tokens: 30, prompt_tokens: 20, completion_tokens: 10 },
      });

      // The answer names the request; the UI tool comes as a tool_call awaiting its response.
      rt.llm.push(
        { content: 'NEXT', usage },
        { tool_calls: [{ id: 'ui1', name: 'review_plan', arguments: '{"steps": ["collect"]}' }], usage },
      );
      let from = ui.events.length;
      ui.send({ type: 'user.input.submit', chat_id: 'chat_wire', text: 'A launch plan', request_id: asked.request_id });
      await ui.waitForType('chat.usage_summary', { from });
      // As there: the model's call of the tool, then the UI tool's event, a tool_call awaiting its response.
      expect(types(from)).toEqual(['chat.tool_call', 'chat.tool_call', 'chat.usage_summary']);
      expect(of('chat.tool_call', 1)).toMatchObject({ call_id: 'ui1', name: 'review_plan' });
      expect(of('chat.tool_call', 1).awaiting_response).toBeUndefined();
      expect(of('chat.tool_call', 2)).toMatchObject({
        kind: 'tool_call',
        tool_name: 'review_plan',
        component_type: 'PlanReview',
        awaiting_response: true,
        corr: 'ui1',
        display: 'artifact',
        payload: { steps: ['collect'] },
      });

      const plan = { steps: [{ title: 'collect', owner: 'Ada' }], confidence: 'high' };
      rt.llm.push({ content: JSON.stringify(plan), usage });
      from = ui.events.length;
      ui.send({ type: 'ui_tool_response', eventId: 'ui1', response: { plan_acceptance: 'accepted' } });
      await ui.waitForType('chat.usage_summary', { from });
      expect(types(from)).toEqual(['chat.tool_response', 'chat.text', 'chat.input_request', 'chat.usage_summary']);
      expect(of('chat.text', 1)).toMatchObject({ kind: 'text', agent: 'Planner', structured_output: plan });

      // What the frontend cannot say is told in its own format; a malformed message too.
      from = ui.events.length;
      ui.send({ type: 'chat.switch_workflow', workflow: 'x' });
      ui.send({ type: 'user.input.submit', chat_id: 'chat_other', text: 'hi' });
      await ui.waitFor(
        (e) => e.type === 'chat.error' && (e.data as { error_code: string }).error_code === 'identity_mismatch',
        { from },
      );
      expect(ui.events[from]).toMatchObject({ type: 'chat.error', data: { error_code: 'unknown_message_type' } });

      // client.resume replays from the sequence given, in the same envelopes.
      const back = await WsTestClient.connect(`${path()}?access_token=${token}`);
      back.send({ type: 'client.resume', lastClientIndex: 0 });
      await back.waitFor(
        (e) =>
          e.type === 'chat.usage_summary' && back.events.filter((x) => x.type === 'chat.usage_summary').length === 3,
      );
      const persisted = (events: TestEvent[]) =>
        events.map((e) => (e.data as { sequence?: number }).sequence).filter((seq) => seq !== undefined);
      expect(persisted(back.events)).toEqual(persisted(ui.events));
      // In order, each once (a run's end while it waits for the user has no envelope there).
      const seqs = persisted(back.events);
      expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true);
      expect(seqs[0]).toBe(1);

      // A run that ends completes; there the run goes on while it waits for the user, so waiting ends none.
      rt.llm.push({ content: '1', usage });
      const last = ui.events.filter((e) => e.type === 'chat.input_request').at(-1)!.data as { request_id: string };
      from = ui.events.length;
      ui.send({ type: 'user.input.submit', chat_id: 'chat_wire', text: 'That is all.', request_id: last.request_id });
      await ui.waitForType('chat.usage_summary', { from });
      expect(ui.events.filter((e) => e.type === 'chat.run_complete').map((e) => e.data)).toEqual([
        expect.objectContaining({ kind: 'run_complete', status: 1, reason: 'terminated' }),
      ]);
      await Promise.all([ui.close(), back.close()]);
    } finally {
      await rt.stop();
    }
  }, 60_000);

  it('the shipped example (workflows/welcome) greets, remembers the name, and hands over to the Guide', async () => {
    const t = await startTestRuntime({ workflowsDir: SHIPPED_WORKFLOWS });
    try {
      t.llm.push(
        { content: 'Welcome! What is your name?', usage },
        { tool_calls: [{ id: 'n1', name: 'remember_name', arguments: '{"name": " Ada "}' }], usage },
        { content: 'DONE', usage },
        { content: 'Ada, you can start a project now.', usage },
      );
      const client = await WsTestClient.connect(
        t.wsUrl(await mintToken({ claims: { workflow_id: 'welcome', chat_id: 'chat_welcome' } })),
      );
      await client.waitForType('input_request');
      const request = client.events.find((e) => e.type === 'input_request')!;
      const from = client.events.length;
      client.send({ type: 'user_input', request_id: request.request_id, content: 'I am Ada' });
      await client.waitForType('input_request', { from });
      const after = client.events.slice(from);
      expect(after.filter((e) => e.type === 'agent_message').map((e) => [e.agent, e.content])).toEqual([
        ['Guide', 'Ada, you can start a project now.'],
      ]);
      expect(after.find((e) => e.type === 'tool_result')).toMatchObject({
        ok: true,
        result: { status: 'remembered', name: 'Ada' },
      });
      expect(systemOf(t.llm.requests[3]!)).toContain(
        '[ROLE]\nYou tell a newly welcomed user, by name, what they can do next.',
      );
      expect(systemOf(t.llm.requests[3]!)).toContain('Context variables (JSON): {"user_name":"Ada"}');
      await client.close();
    } finally {
      await t.stop();
    }
  }, 30_000);
});
