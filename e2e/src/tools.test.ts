// Tools declared in tools.yaml run out of process in every JS flavour and in Python, emit
// tool_call/tool_result, and their results (or errors) reach the model.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WsTestClient, makeTempDir, mintToken } from '@mozaiks/testing';
import { FIXTURE_WORKFLOWS, SHIPPED_WORKFLOWS, startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

describe('tools', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime({
      workflowsDir: FIXTURE_WORKFLOWS,
      env: { SENDGRID_API_KEY: 'sg-test-key', EMAIL_FROM: 'not-declared@example.com' },
    });
  });
  afterAll(async () => t.stop());

  it('runs .js (ESM), .ts and .cjs tools in one reply, in parallel, and returns every result to the model', async () => {
    t.llm.push(
      {
        tool_calls: [
          { id: 'call_add', name: 'add', arguments: '{"a": 2, "b": 40}' },
          { id: 'call_greet', name: 'greet', arguments: '{"name": "Ada"}' },
          { id: 'call_shout', name: 'shout', arguments: '{"text": "quiet"}' },
          { id: 'call_fail', name: 'fail', arguments: '{}' },
          { id: 'call_bad', name: 'add', arguments: '{"a": 2,' },
        ],
        usage: { prompt_tokens: 50, completion_tokens: 20 },
      },
      { content: 'All done: 42.', usage: { prompt_tokens: 120, completion_tokens: 5 } },
    );
    const token = await mintToken({ claims: { workflow_id: 'tool_kit', chat_id: 'chat_tools', plan: 'enterprise' } });
    const client = await WsTestClient.connect(t.wsUrl(token));
    const events = await client.exchange('use your tools');
    expect(events.map((e) => e.type)).toEqual([
      'tool_call',
      'tool_call',
      'tool_call',
      'tool_call',
      'tool_call',
      'usage_delta',
      'tool_result',
      'tool_result',
      'tool_result',
      'tool_result',
      'tool_result',
      'agent_message',
      'usage_delta',
      'workflow_complete',
      'usage_update',
    ]);
    expect(events[0]).toMatchObject({
      name: 'add',
      agent: 'Worker',
      tool_call_id: 'call_add',
      arguments: { a: 2, b: 40 },
    });
    const results = events.filter((e) => e.type === 'tool_result');
    expect(results[0]).toMatchObject({ name: 'add', ok: true, result: { sum: 42 } });
    // Custom claims of the token reach a tool as its context.
    expect(results[1]).toMatchObject({
      name: 'greet',
      ok: true,
      result: { greeting: 'Hello, Ada!', plan: 'enterprise' },
    });
    expect(results[2]).toMatchObject({ name: 'shout', ok: true, result: { text: 'QUIET' } });
    expect(results[3]).toMatchObject({
      name: 'fail',
      ok: false,
      error: { code: 'tool_failed', message: 'the database is down' },
    });
    expect(results[4]).toMatchObject({ name: 'add', ok: false, error: { code: 'invalid_tool_call' } });
    expect(events.at(-1)).toMatchObject({ tokens: { prompt_tokens: 170, completion_tokens: 25, total_tokens: 195 } });

    // The model's second call carries its tool calls and their results, in order.
    const second = t.llm.requests[1]!.messages;
    const toolMessages = second.filter((m) => m.role === 'tool');
    expect(toolMessages.map((m) => m.tool_call_id)).toEqual([
      'call_add',
      'call_greet',
      'call_shout',
      'call_fail',
      'call_bad',
    ]);
    expect(JSON.parse(String(toolMessages[0]!.content))).toEqual({ sum: 42 });
    expect(JSON.parse(String(toolMessages[3]!.content))).toEqual({
      error: { code: 'tool_failed', message: 'the database is down' },
    });
    await client.close();
  });

  it('gives tool code the variables it declares and nothing else: no runtime secret', async () => {
    t.llm.push(
      { tool_calls: [{ name: 'read_env', arguments: '{}' }], usage: { prompt_tokens: 1, completion_tokens: 1 } },
      { content: 'ok', usage: { prompt_tokens: 1, completion_tokens: 1 } },
    );
    const client = await WsTestClient.connect(
      t.wsUrl(await mintToken({ claims: { workflow_id: 'tool_kit', chat_id: 'chat_env' } })),
    );
    const events = await client.exchange('what do you see?');
    const result = events.find((e) => e.type === 'tool_result')!.result as { keys: string[]; values: string[] };
    expect(result.keys).toEqual(['SENDGRID_API_KEY']);
    expect(result.values).toEqual(['sg-test-key']);
    await client.close();
  });
});

/** The guide's email tool: Python as shipped, and as a JavaScript or TypeScript author would write it. */
const EMAIL_TOOLS: Record<string, string | undefined> = {
  'email_tools.py': undefined,
  'email_tools.js':
    'export async function send_email({ to = "", subject = "Welcome aboard", body = "" }) {\n  return { status: "queued", to, subject, characters: body.length, queued_at: new Date().toISOString() };\n}\n',
  'email_tools.mjs':
    'export const send_email = async ({ to = "", subject = "Welcome aboard", body = "" }) => ({ status: "queued", to, subject, characters: body.length, queued_at: new Date().toISOString() });\n',
  'email_tools.cjs':
    'exports.send_email = ({ to = "", subject = "Welcome aboard", body = "" }) => ({ status: "queued", to, subject, characters: body.length, queued_at: new Date().toISOString() });\n',
  'email_tools.ts':
    'interface Email { to?: string; subject?: string; body?: string }\nexport async function send_email({ to = "", subject = "Welcome aboard", body = "" }: Email): Promise<Record<string, unknown>> {\n  return { status: "queued", to, subject, characters: body.length, queued_at: new Date().toISOString() };\n}\n',
};

describe("the guide's onboarding_flow with its email tool in each language", () => {
  it.each(Object.keys(EMAIL_TOOLS))('runs with %s', async (file) => {
    const workflows = makeTempDir('mozaiks-onboarding-');
    const dir = path.join(workflows.path, 'onboarding_flow');
    cpSync(path.join(SHIPPED_WORKFLOWS, 'onboarding_flow'), dir, { recursive: true });
    const source = EMAIL_TOOLS[file];
    if (source !== undefined) {
      rmSync(path.join(dir, 'email_tools.py'));
      writeFileSync(path.join(dir, file), source);
      writeFileSync(
        path.join(dir, 'tools.yaml'),
        readFileSync(path.join(dir, 'tools.yaml'), 'utf8').replace('email_tools.py', file),
      );
    }
    const t = await startTestRuntime({ workflowsDir: workflows.path });
    try {
      t.llm.push(
        {
          tool_calls: [
            { name: 'send_email', arguments: '{"to": "ada@example.com", "subject": "Welcome", "body": "Hello Ada"}' },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 10 },
        },
        { content: 'Welcome email queued.', usage: { prompt_tokens: 20, completion_tokens: 5 } },
        { content: 'Looks complete.', usage: { prompt_tokens: 30, completion_tokens: 3 } },
      );
      const client = await WsTestClient.connect(t.wsUrl(await mintToken()));
      const events = await client.exchange('Onboard ada@example.com');
      expect(events.map((e) => e.type)).toEqual([
        'tool_call',
        'usage_delta',
        'tool_result',
        'agent_message',
        'usage_delta',
        'agent_message',
        'usage_delta',
        'workflow_complete',
        'usage_update',
      ]);
      expect(events[2]).toMatchObject({
        name: 'send_email',
        ok: true,
        result: { status: 'queued', to: 'ada@example.com', subject: 'Welcome', characters: 9 },
      });
      await client.close();
    } finally {
      await t.stop();
      workflows.remove();
    }
  });
});

describe("the guide's JSON form", () => {
  it('runs a workflow given as config.json with a tool named by its implementation', async () => {
    const t = await startTestRuntime({ workflowsDir: FIXTURE_WORKFLOWS });
    try {
      t.llm.push(
        {
          tool_calls: [{ name: 'query_database', arguments: '{"query": "select * from customers"}' }],
          usage: { prompt_tokens: 5, completion_tokens: 5 },
        },
        { content: 'One customer: Ada.', usage: { prompt_tokens: 9, completion_tokens: 4 } },
      );
      const client = await WsTestClient.connect(
        t.wsUrl(await mintToken({ claims: { workflow_id: 'my_workflow', chat_id: 'chat_json' } })),
      );
      const events = await client.exchange('Who are our customers?');
      expect(events.find((e) => e.type === 'tool_result')).toMatchObject({
        name: 'query_database',
        ok: true,
        result: { rows: [{ id: 1, name: 'Ada' }], query: 'select * from customers' },
      });
      expect(t.llm.requests[0]!.tools?.[0]).toMatchObject({
        function: {
          name: 'query_database',
          description: 'Query the customer database',
          parameters: { properties: { query: { type: 'string' } } },
        },
      });
      await client.close();
    } finally {
      await t.stop();
    }
  });
});
