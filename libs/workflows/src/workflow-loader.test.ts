// Loading workflow folders: the shipped examples load; broken ones report every problem with the
// file, line, column and field.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  WORKFLOW_FILES,
  WorkflowNotFoundError,
  WorkflowValidationError,
  WorkflowVersions,
  formatProblem,
  loadWorkflow,
  workflowFileJsonSchema,
} from './index';

const SHIPPED = path.resolve(__dirname, '../../../workflows');

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'mozaiks-wf-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(id: string, files: Record<string, string>): void {
  mkdirSync(path.join(root, id), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, id, name), text);
}

function problems(id: string): string[] {
  try {
    loadWorkflow(root, id);
  } catch (error) {
    if (error instanceof WorkflowValidationError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected the workflow to be invalid');
}

describe('loadWorkflow', () => {
  it("loads the guide's onboarding_flow as written", () => {
    const wf = loadWorkflow(SHIPPED, 'onboarding_flow');
    expect(wf).toMatchObject({
      id: 'onboarding_flow',
      name: 'Customer Onboarding',
      max_turns: 10,
      human_in_the_loop: false,
      startup_mode: 'UserDriven',
      orchestration_pattern: 'DefaultPattern',
      initial_agent: 'DataCollector',
    });
    expect(wf.agents.map((a) => a.name)).toEqual(['DataCollector', 'Validator']);
    expect(wf.agents[0]!.llm_config).toEqual({ model: 'gpt-4', temperature: 0.7 });
    expect(wf.agents[0]!.tools).toEqual([
      expect.objectContaining({
        name: 'send_email',
        file: 'email_tools.py',
        function: 'send_email',
        description: 'Send welcome email',
        tool_type: 'Agent_Tool',
      }),
    ]);
    expect(wf.agents[1]!.tools).toEqual([]);
  });

  it('loads the hello example and a workflow without tools.yaml', () => {
    expect(loadWorkflow(SHIPPED, 'hello').tools.map((t) => t.name)).toEqual(['current_time']);
    write('bare', {
      'orchestrator.yaml': 'workflow_name: Bare\n',
      'agents.yaml': 'agents:\n  - name: Solo\n    system_message: Hi.\n',
    });
    expect(loadWorkflow(root, 'bare')).toMatchObject({ max_turns: 10, startup_mode: 'UserDriven', tools: [] });
  });

  it('says a workflow is not found, for missing folders and ids that could escape the folder', () => {
    expect(() => loadWorkflow(root, 'nothing')).toThrow(WorkflowNotFoundError);
    expect(() => loadWorkflow(root, '../etc')).toThrow(WorkflowNotFoundError);
  });

  it('reports every problem across the files, each at its place', () => {
    write('broken', {
      'orchestrator.yaml': [
        'workflow_name: Broken',
        'max_turns: -1',
        'orchestration_pattern: SwarmPattern',
        'initial_agent: Ghost',
        'max_turn: 3',
        '',
      ].join('\n'),
      'agents.yaml': [
        'agents:',
        '  - name: Writer',
        '    system_message: Writes.',
        '  - name: Writer',
        '    system_message: Again.',
        '  - name: bad name',
        '',
      ].join('\n'),
      'tools.yaml': [
        'tools:',
        '  - agent: Nobody',
        '    file: missing.py',
        '    function: go',
        '    description: Goes.',
        '  - agent: Writer',
        '    file: ../outside.js',
        '    function: x',
        '    description: X.',
        '',
      ].join('\n'),
    });
    // One pass: the references between files are checked too, with the entries that are valid.
    expect(problems('broken')).toEqual([
      'broken/orchestrator.yaml:2:12: max_turns: Too small: expected number to be >0 (got -1)',
      'broken/orchestrator.yaml:3:24: orchestration_pattern: must be one of: DefaultPattern, AutoPattern, RoundRobinPattern, RandomPattern, ManualPattern (got "SwarmPattern")',
      'broken/orchestrator.yaml:4:16: initial_agent: no agent named "Ghost" in agents.yaml',
      'broken/orchestrator.yaml:5:1: max_turn: unknown field',
      'broken/agents.yaml:4:11: agents.1.name: duplicate agent name "Writer"',
      'broken/agents.yaml:6:5: agents.2.system_message: is required',
      'broken/agents.yaml:6:11: agents.2.name: must be 1-64 letters, digits, "_" or "-" (got "bad name")',
      'broken/tools.yaml:2:12: tools.0.agent: no agent named "Nobody" in agents.yaml',
      'broken/tools.yaml:3:11: tools.0.file: tool file missing.py not found in broken/ or broken/tools/',
      'broken/tools.yaml:7:11: tools.1.file: must be a path inside the workflow folder (got "../outside.js")',
    ]);
  });

  it('checks references between files', () => {
    write('refs', {
      'orchestrator.yaml': 'workflow_name: Refs\ninitial_agent: Ghost\n',
      'agents.yaml':
        'agents:\n  - name: Writer\n    system_message: Writes.\n  - name: Writer\n    system_message: Again.\n',
      'tools.yaml': 'tools:\n  - agent: Nobody\n    file: missing.py\n    function: go\n    description: Goes.\n',
    });
    expect(problems('refs')).toEqual([
      'refs/orchestrator.yaml:2:16: initial_agent: no agent named "Ghost" in agents.yaml',
      'refs/agents.yaml:4:11: agents.1.name: duplicate agent name "Writer"',
      'refs/tools.yaml:2:12: tools.0.agent: no agent named "Nobody" in agents.yaml',
      'refs/tools.yaml:3:11: tools.0.file: tool file missing.py not found in refs/ or refs/tools/',
    ]);
  });

  it('refuses unknown keys at the top of a file', () => {
    write('tops', {
      'orchestrator.yaml': 'workflow_name: Tops\n',
      'agents.yaml': 'agents:\n  - name: A\n    system_message: Hi.\n',
      'tools.yaml': 'tool: []\n',
    });
    expect(problems('tops')).toEqual(['tops/tools.yaml:1:1: tool: unknown field; expected tools or lifecycle_tools']);
  });

  it("takes the variables a tool declares, and refuses the runtime's own and the interpreters' switches", () => {
    write('envs', {
      'orchestrator.yaml': 'workflow_name: Envs\n',
      'agents.yaml': 'agents:\n  - name: Mailer\n    system_message: Mails.\n',
      'mail.py': 'def send(to: str) -> dict:\n    return {}\n',
      'tools.yaml':
        'tools:\n  - agent: Mailer\n    file: mail.py\n    function: send\n    description: Sends.\n    env: [SENDGRID_API_KEY, MAIL_FROM]\n',
    });
    expect(loadWorkflow(root, 'envs').tools[0]!.env).toEqual(['SENDGRID_API_KEY', 'MAIL_FROM']);
    write('envs', {
      'tools.yaml':
        'tools:\n  - agent: Mailer\n    file: mail.py\n    function: send\n    description: Sends.\n    env: [OPENAI_API_KEY, NODE_OPTIONS, bad-name, JWT_SECRET]\n',
    });
    expect(problems('envs')).toEqual([
      'envs/tools.yaml:6:11: tools.0.env.0: OPENAI_API_KEY belongs to the runtime and is never given to tools',
      'envs/tools.yaml:6:27: tools.0.env.1: variables starting with NODE_ belong to the runtime or the interpreter and are never given to tools (got "NODE_OPTIONS")',
      'envs/tools.yaml:6:41: tools.0.env.2: must be a variable name: letters, digits and "_" (got "bad-name")',
      'envs/tools.yaml:6:51: tools.0.env.3: JWT_SECRET belongs to the runtime and is never given to tools',
    ]);
  });

  it('reports YAML syntax errors and missing files', () => {
    write('syntax', { 'orchestrator.yaml': 'workflow_name: [unclosed\n' });
    const found = problems('syntax');
    expect(found[0]).toMatch(/^syntax\/orchestrator.yaml:\d+:\d+: YAML syntax: /);
    expect(found).toContain('syntax/agents.yaml:1:1: file is missing');
  });
});

describe('WorkflowVersions.current', () => {
  const cacheDir = () => path.join(root, '.cache');

  it('serves a loaded workflow until one of its files changes', async () => {
    write('live', {
      'orchestrator.yaml': 'workflow_name: One\n',
      'agents.yaml': 'agents:\n  - name: A\n    system_message: Hi.\n',
    });
    const versions = new WorkflowVersions({ workflowsDir: root, cacheDir: cacheDir(), recheckMs: 0 });
    const first = await versions.current('live');
    expect(await versions.current('live')).toBe(first);
    write('live', { 'orchestrator.yaml': 'workflow_name: Two, renamed\n' });
    expect((await versions.current('live')).definition.name).toBe('Two, renamed');
    write('live', { 'tools.yaml': 'tools: [oops\n' });
    await expect(versions.current('live')).rejects.toThrow(WorkflowValidationError);
  });

  it('looks at the files again only once the recheck interval has passed', async () => {
    write('paced', {
      'orchestrator.yaml': 'workflow_name: One\n',
      'agents.yaml': 'agents:\n  - name: A\n    system_message: Hi.\n',
    });
    const versions = new WorkflowVersions({ workflowsDir: root, cacheDir: cacheDir(), recheckMs: 300 });
    expect((await versions.current('paced')).definition.name).toBe('One');
    write('paced', { 'orchestrator.yaml': 'workflow_name: Two\n' });
    expect((await versions.current('paced')).definition.name).toBe('One');
    await new Promise((r) => setTimeout(r, 350));
    expect((await versions.current('paced')).definition.name).toBe('Two');
  });
});

describe('workflow JSON Schemas', () => {
  it("are committed as generated from the loader's own schemas", () => {
    for (const kind of WORKFLOW_FILES) {
      const committed = JSON.parse(readFileSync(path.join(__dirname, `../schemas/${kind}.schema.json`), 'utf8'));
      expect(committed).toEqual(workflowFileJsonSchema(kind));
    }
  });

  it('describe the files as the guide writes them', () => {
    const orchestrator = workflowFileJsonSchema('orchestrator') as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(Object.keys(orchestrator.properties)).toEqual(
      expect.arrayContaining([
        'workflow_name',
        'max_turns',
        'human_in_the_loop',
        'startup_mode',
        'orchestration_pattern',
      ]),
    );
    expect(orchestrator.required).toEqual(['workflow_name']);
  });
});

describe('handoffs and context variables', () => {
  const base = {
    'orchestrator.yaml': 'workflow_name: Routed\n',
    'agents.yaml':
      'agents:\n  - name: Collector\n    system_message: Collect.\n  - name: Checker\n    system_message: Check.\n',
  };

  it('loads rules of every kind, with parsed expressions and declared variables', () => {
    write('routed', {
      ...base,
      'context_variables.yaml':
        'context_variables:\n  - name: collected\n    type: boolean\n    default: false\n  - name: plan\n',
      'handoffs.yaml': [
        'handoff_rules:',
        '  - source_agent: Collector',
        '    target_agent: Checker',
        '    handoff_type: condition',
        '    condition_type: expression',
        '    condition: ${collected} == true',
        '  - source_agent: Collector',
        '    target_agent: terminate',
        '    handoff_type: condition',
        '    condition_type: llm',
        '    condition: the user wants to stop',
        '  - source_agent: Collector',
        '    target_agent: user',
        '    handoff_type: after_work',
        '',
      ].join('\n'),
    });
    const wf = loadWorkflow(root, 'routed');
    expect(wf.context_variables).toEqual([
      { name: 'collected', type: 'boolean', default: false, triggers: [] },
      { name: 'plan', type: 'string', default: null, triggers: [] },
    ]);
    expect(wf.handoffs.map((h) => [h.kind, h.source_agent, h.target])).toEqual([
      ['expression', 'Collector', 'Checker'],
      ['llm', 'Collector', 'terminate'],
      ['after_work', 'Collector', 'user'],
    ]);
  });

  it('locates bad rules: unknown agents, undeclared variables, broken expressions, missing fields', () => {
    write('misrouted', {
      ...base,
      'context_variables.yaml': 'context_variables:\n  - name: collected\n    type: boolean\n    default: "no"\n',
      'handoffs.yaml': [
        'handoff_rules:',
        '  - source_agent: Nobody',
        '    target_agent: Elsewhere',
        '    handoff_type: after_work',
        '  - source_agent: Collector',
        '    target_agent: Checker',
        '    handoff_type: condition',
        '    condition_type: expression',
        '    condition: ${collected} == true and ${missing} > 1',
        '  - source_agent: Collector',
        '    target_agent: Checker',
        '    handoff_type: condition',
        '    condition_type: expression',
        '    condition: ${collected} ==',
        '  - source_agent: Collector',
        '    target_agent: Checker',
        '    handoff_type: condition',
        '    condition: ${collected}',
        '',
      ].join('\n'),
    });
    expect(problems('misrouted')).toEqual([
      'misrouted/context_variables.yaml:4:14: context_variables.0.default: must be of type boolean (got "no")',
      'misrouted/handoffs.yaml:2:19: handoff_rules.0.source_agent: no agent named "Nobody" in agents.yaml (or use user)',
      'misrouted/handoffs.yaml:3:19: handoff_rules.0.target_agent: no agent named "Elsewhere" in agents.yaml (or use user or terminate)',
      'misrouted/handoffs.yaml:9:16: handoff_rules.1.condition: unknown context variable(s) "missing"; declare them in context_variables.yaml',
      'misrouted/handoffs.yaml:14:16: handoff_rules.2.condition: expression ends too early at character 16',
      'misrouted/handoffs.yaml:15:5: handoff_rules.3.condition_type: a condition rule needs condition_type: expression or llm',
    ]);
  });
});

describe('structured outputs', () => {
  it('attaches a checker to the agent and locates bad entries', () => {
    write('outputs', {
      'orchestrator.yaml': 'workflow_name: Outputs\n',
      'agents.yaml': 'agents:\n  - name: Reviewer\n    system_message: Review.\n',
      'structured_outputs.yaml': [
        'structured_outputs:',
        '  - agent: Reviewer',
        '    schema:',
        '      type: object',
        '      required: [complete]',
        '',
      ].join('\n'),
    });
    const output = loadWorkflow(root, 'outputs').agents[0]!.structured_output!;
    expect(output.name).toBe('Reviewer_output');
    expect(output.check({ complete: true })).toEqual([]);
    expect(output.check({})).toEqual(["(reply) must have required property 'complete'"]);

    write('bad_outputs', {
      'orchestrator.yaml': 'workflow_name: Outputs\n',
      'agents.yaml': 'agents:\n  - name: Reviewer\n    system_message: Review.\n',
      'structured_outputs.yaml': [
        'structured_outputs:',
        '  - agent: Ghost',
        '    schema: { type: object }',
        '  - agent: Reviewer',
        '    schema: { type: object, properties: { n: { type: numbr } } }',
        '',
      ].join('\n'),
    });
    expect(problems('bad_outputs')).toEqual([
      'bad_outputs/structured_outputs.yaml:2:12: structured_outputs.0.agent: no agent named "Ghost" in agents.yaml',
      expect.stringMatching(
        /^bad_outputs\/structured_outputs.yaml:5:13: structured_outputs.1.schema: not a valid JSON Schema: /,
      ),
    ]);
    write('list_output', {
      'orchestrator.yaml': 'workflow_name: Outputs\n',
      'agents.yaml': 'agents:\n  - name: Reviewer\n    system_message: Review.\n',
      'structured_outputs.yaml': 'structured_outputs:\n  - agent: Reviewer\n    schema: { type: array }\n',
    });
    expect(problems('list_output')).toEqual([
      'list_output/structured_outputs.yaml:3:21: structured_outputs.0.schema.type: a structured output is an object: type must be "object" (got "array")',
    ]);
  });
});

describe('the JSON form (config.json)', () => {
  it("loads the guide's JSON into the same definition, a tool with no agent serving every agent", () => {
    write('json_wf', {
      'config.json': JSON.stringify(
        {
          agents: [
            { name: 'Analyst', system_message: 'Analyse.' },
            { name: 'Writer', system_message: 'Write.' },
          ],
          tools: [
            {
              name: 'query_database',
              implementation: 'stubs.query_database',
              description: 'Query the customer database',
              parameters: { type: 'object', properties: { query: { type: 'string' } } },
            },
          ],
        },
        null,
        2,
      ),
      'stubs.py': 'def query_database(query: str) -> dict:\n    return {}\n',
    });
    const wf = loadWorkflow(root, 'json_wf');
    expect(wf.name).toBe('json_wf');
    expect(wf.agents.map((a) => a.tools.map((t) => [t.name, t.file, t.function]))).toEqual([
      [['query_database', 'stubs.py', 'query_database']],
      [['query_database', 'stubs.py', 'query_database']],
    ]);
  });

  it('places its problems in config.json', () => {
    write('json_bad', {
      'config.json': [
        '{',
        '  "max_turns": "ten",',
        '  "colour": "red",',
        '  "agents": [',
        '    { "name": "Analyst", "class": "no_such_module.DataAnalystAgent", "system_message": "Analyse." }',
        '  ],',
        '  "tools": [',
        '    { "name": "q", "implementation": "missing.query", "description": "Q" },',
        '    { "name": "r", "implementation": "nodot", "description": "R" }',
        '  ]',
        '}',
      ].join('\n'),
    });
    expect(problems('json_bad')).toEqual([
      'json_bad/config.json:2:16: max_turns: Invalid input: expected number, received string (got "ten")',
      'json_bad/config.json:3:3: colour: unknown field',
      'json_bad/config.json:5:35: agents.0.class: no file no_such_module.ts, no_such_module.js, no_such_module.mjs, no_such_module.cjs in json_bad/',
      'json_bad/config.json:8:38: tools.0.implementation: no file missing.js, missing.mjs, missing.cjs, missing.ts, missing.py in json_bad/',
      'json_bad/config.json:9:38: tools.1.implementation: must be "module.function", such as stubs.query_database (got "nodot")',
    ]);
  });
});

describe('custom agent classes', () => {
  it('point at a module of the workflow folder and a class it exports', () => {
    write('classy', {
      'orchestrator.yaml': 'workflow_name: Classy\n',
      'agents.yaml':
        'agents:\n  - name: Analyst\n    class: custom_agents.DataAnalystAgent\n    system_message: Analyse.\n',
      'custom_agents.ts': 'export class DataAnalystAgent {}\n',
    });
    expect(loadWorkflow(root, 'classy').agents[0]!.class).toEqual({
      file: 'custom_agents.ts',
      export: 'DataAnalystAgent',
    });
  });
});

describe('tool schemas from the source', () => {
  it("takes a TypeScript or JavaScript tool's parameters and description from its declared types when tools.yaml gives none", () => {
    write('typed', {
      'orchestrator.yaml': 'workflow_name: Typed\n',
      'agents.yaml': 'agents:\n  - name: A\n    system_message: Hi.\n',
      'tools.yaml':
        'tools:\n  - { agent: A, file: orders.ts, function: find_order }\n  - { agent: A, file: clock.js, function: now, description: Written out. }\n  - { agent: A, file: clock.js, function: later, description: Given., parameters: { type: object } }\n',
      'orders.ts':
        '/** Find an order by its number. */\nexport function find_order(args: { number: string; archived?: boolean }) { return args; }\n',
      'clock.js':
        '/** @param {{ zone?: string }} args */\nexport function now(args) { return 1; }\nexport function later() { return 2; }\n',
    });
    const [order, now, later] = loadWorkflow(root, 'typed').tools;
    expect(order).toMatchObject({
      description: 'Find an order by its number.',
      parameters: {
        type: 'object',
        properties: { number: { type: 'string' }, archived: { type: 'boolean' } },
        required: ['number'],
        additionalProperties: false,
      },
    });
    expect(now).toMatchObject({
      description: 'Written out.',
      parameters: { type: 'object', properties: { zone: { type: 'string' } }, additionalProperties: false },
    });
    // What tools.yaml says is kept as written.
    expect(later).toMatchObject({ description: 'Given.', parameters: { type: 'object' } });
  });

  it("still asks for a description a JavaScript tool's source does not give", () => {
    write('undocumented', {
      'orchestrator.yaml': 'workflow_name: U\n',
      'agents.yaml': 'agents:\n  - name: A\n    system_message: Hi.\n',
      'tools.yaml': 'tools:\n  - { agent: A, file: t.js, function: go }\n',
      't.js': 'export function go(args) { return 1; }\n',
    });
    expect(problems('undocumented')).toEqual([
      expect.stringMatching(
        /^undocumented\/tools.yaml:2:5: tools.0.description: is required \(or give the function a docstring, or a doc comment\)/,
      ),
    ]);
  });
});

describe('folders of the Python MozaiksAI runtime', () => {
  const UPSTREAM = path.resolve(__dirname, '../../../e2e/fixtures/workflows');

  it('load the fixture in that shape, warning of what has no effect here, each at its place', () => {
    const wf = loadWorkflow(UPSTREAM, 'upstream_planner');
    expect(wf.name).toBe('upstream_planner');
    expect(wf.agents.map((a) => [a.name, a.max_consecutive_auto_reply, a.variables])).toEqual([
      ['Interviewer', 3, ['user_name', 'interview_complete']],
      ['Planner', 4, ['user_name', 'planning_region', 'plan_acceptance']],
    ]);
    expect(wf.tools.map((t) => [t.name, t.file, t.tool_type, t.takes_context ?? false, t.ui])).toEqual([
      ['record_name', 'tools/naming.py', 'Agent_Tool', true, undefined],
      ['review_plan', 'tools/naming.py', 'UI_Tool', false, { component: 'PlanReview', display: 'artifact' }],
    ]);
    const schema = wf.agents[1]!.structured_output!;
    expect(schema.check({ steps: [{ title: 'a', owner: null }], confidence: 'high' })).toEqual([]);
    expect(schema.check({ steps: [{ title: 'a' }], confidence: 'maybe' })).toEqual([
      "/steps/0 must have required property 'owner'",
      '/confidence must be equal to one of the allowed values',
    ]);
    expect(wf.hooks).toEqual([
      {
        type: 'update_agent_state',
        agent: 'Planner',
        tool: expect.objectContaining({ file: 'tools/naming.py', function: 'inject_guidance' }),
      },
    ]);
    expect(wf.handoffs.filter((h) => h.source_agent === 'user').map((h) => [h.kind, h.target])).toEqual([
      ['expression', 'Interviewer'],
      ['expression', 'Planner'],
      ['llm', 'terminate'],
    ]);
    expect(wf.warnings!.map(formatProblem)).toEqual([
      expect.stringMatching(/^upstream_planner\/orchestrator.yaml:2:1: entry_point: has no effect here/),
      expect.stringMatching(
        /^upstream_planner\/context_variables.yaml:42:5: definitions.5.source.type: source "data_reference" is not read here/,
      ),
      expect.stringMatching(
        /^upstream_planner\/ui_config.yaml:1:1: visual_agents: is for the Python runtime's frontend/,
      ),
      expect.stringMatching(/^upstream_planner\/_pack:1:1: workflow packs are not run here \(workflow_graph.json\)/),
    ]);
    // --strict: every warning is a problem.
    expect(() => loadWorkflow(UPSTREAM, 'upstream_planner', { strict: true })).toThrow(
      /entry_point: has no effect here/,
    );
  });

  it('report what cannot be honoured, and unknown keys as warnings unless strict', () => {
    write('old', {
      'orchestrator.yaml': 'workflow_name: Old\nentry_point: true\nfancy_mode: on\n',
      'agents.yaml':
        'agents:\n  Asker:\n    prompt_sections:\n    - heading: "[ROLE]"\n      content: Asks.\n    colour: blue\n',
      'context_variables.yaml': [
        'definitions:',
        '- name: api_key',
        '  type: str',
        '  source:',
        '    type: config',
        '    env_var: STRIPE_API_KEY',
        '- name: ready',
        '  type: bool',
        '  source:',
        '    type: state',
        '    default: false',
        '    triggers:',
        '    - type: agent_text',
        '      agent: Nobody',
        '      match:',
        '        equals: DONE',
        '',
      ].join('\n'),
      'handoffs.yaml': [
        'handoff_rules:',
        '- source_agent: Asker',
        '  target_agent: user',
        '  handoff_type: after_work',
        '  condition: null',
        '  transition_target: TerminateTarget',
        '- source_agent: user',
        '  target_agent: Asker',
        '  handoff_type: condition',
        '  condition_type: expression',
        '  condition: ${ready} == True and len(${missing}) > 0',
        '  transition_target: NestedChatTarget',
        '',
      ].join('\n'),
      'structured_outputs.yaml':
        'structured_outputs:\n  models:\n    Out:\n      type: model\n      fields:\n        when:\n          type: datetime\nregistry:\n  Asker: Missing\n',
    });
    expect(problems('old')).toEqual([
      'old/context_variables.yaml:6:14: definitions.0.source.env_var: STRIPE_API_KEY looks like a secret or a setting of the runtime, and context variables are shown to the model; give the value to a tool through tools.yaml env instead',
      'old/context_variables.yaml:14:14: definitions.1.source.triggers.0.agent: no agent named "Nobody" in agents.yaml',
      'old/handoffs.yaml:6:22: handoff_rules.0.transition_target: TerminateTarget does not match target_agent "user" (RevertToUserTarget goes with user, TerminateTarget with terminate, AgentTarget with an agent)',
      'old/handoffs.yaml:11:14: handoff_rules.1.condition: unknown context variable(s) "missing"; declare them in context_variables.yaml',
      'old/handoffs.yaml:12:22: handoff_rules.1.transition_target: "NestedChatTarget" is not supported: use AgentTarget, RevertToUserTarget or TerminateTarget',
      'old/structured_outputs.yaml:7:17: structured_outputs.models.Out.fields.when.type: unknown type "datetime": use str, int, float, bool, dict, list, optional_list, literal, union or the name of a model in structured_outputs.models',
      'old/structured_outputs.yaml:9:10: registry.Asker: "Missing" is not a model in structured_outputs.models',
    ]);
    let warnings: string[] = [];
    try {
      loadWorkflow(root, 'old');
    } catch (error) {
      warnings = (error as WorkflowValidationError).warnings.map(formatProblem);
    }
    expect(warnings).toEqual([
      expect.stringMatching(/^old\/orchestrator.yaml:2:1: entry_point: has no effect here/),
      'old/orchestrator.yaml:3:1: fancy_mode: unknown field, ignored (mozaiks validate --strict refuses it)',
      'old/agents.yaml:6:5: agents.Asker.colour: unknown field, ignored (mozaiks validate --strict refuses it)',
    ]);
  });

  it('read the multi-file JSON form like the YAML one', () => {
    write('json_files', {
      'orchestrator.json': JSON.stringify({ max_turns: 3 }),
      'agents.json': JSON.stringify({ agents: { Solo: { system_message: 'Hi.' } } }),
      'handoffs.json': JSON.stringify({
        handoff_rules: [
          { source_agent: 'Solo', target_agent: 'terminate', handoff_type: 'after_work', condition: null },
        ],
      }),
    });
    const wf = loadWorkflow(root, 'json_files');
    expect(wf).toMatchObject({
      name: 'json_files',
      max_turns: 3,
      agents: [{ name: 'Solo', system_message: 'Hi.' }],
      handoffs: [{ kind: 'after_work', target: 'terminate' }],
    });
    write('json_files', { 'agents.json': '{ "agents": { "Solo": { "system_message": 7 } } }' });
    expect(problems('json_files')).toEqual([
      'json_files/agents.json:1:43: agents.Solo.system_message: Invalid input: expected string, received number (got 7)',
    ]);
  });
});
