// `mozaiks validate`: every mistake of a workflow folder reported at its place, and the command's
// exit code, run as a user runs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir } from '@mozaiks/testing';
import type { TempDir } from '@mozaiks/testing';
import { validateWorkflows } from './validate';

const BIN = path.resolve(__dirname, '../bin/mozaiks.js');
let dir: TempDir;

beforeEach(() => {
  dir = makeTempDir('mozaiks-validate-');
  const wf = path.join(dir.path, 'workflows', 'ten_mistakes');
  mkdirSync(wf, { recursive: true });
  writeFileSync(
    path.join(wf, 'orchestrator.yaml'),
    ['workflow_name: Ten mistakes', 'max_turns: 0', 'startup_mode: Sometimes', 'max_turn: 3', ''].join('\n'),
  );
  writeFileSync(
    path.join(wf, 'agents.yaml'),
    [
      'agents:',
      '  - name: bad name',
      '    system_message: Hi.',
      '  - name: Quiet',
      '    role: forgets its instructions',
      '  - name: Hot',
      '    system_message: Hi.',
      '    llm_config:',
      '      temperature: 5',
      '  - name: Typo',
      '    system_message: Hi.',
      '    rolee: misspelt',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(wf, 'tools.yaml'),
    [
      'tools:',
      '  - agent: Hot',
      '    file: ../escape.py',
      '    function: go',
      '    description: Escapes.',
      '  - agent: Hot',
      '    file: tools.py',
      '    function: not-a-fn',
      '    description: Dashes.',
      '  - agent: Hot',
      '    file: tools.py',
      '    function: quiet',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(wf, 'tools.py'), 'def quiet():\n    return {}\n');
});
afterEach(() => dir.remove());

const TEN = [
  'workflows/ten_mistakes/orchestrator.yaml:2:12: max_turns: Too small: expected number to be >0 (got 0)',
  'workflows/ten_mistakes/orchestrator.yaml:3:15: startup_mode: must be one of: UserDriven, AgentDriven, BackendOnly (got "Sometimes")',
  'workflows/ten_mistakes/orchestrator.yaml:4:1: max_turn: unknown field',
  'workflows/ten_mistakes/agents.yaml:2:11: agents.0.name: must be 1-64 letters, digits, "_" or "-" (got "bad name")',
  'workflows/ten_mistakes/agents.yaml:4:5: agents.1.system_message: is required',
  'workflows/ten_mistakes/agents.yaml:9:20: agents.2.llm_config.temperature: Too big: expected number to be <=2 (got 5)',
  'workflows/ten_mistakes/agents.yaml:12:5: agents.3.rolee: unknown field',
  'workflows/ten_mistakes/tools.yaml:3:11: tools.0.file: must be a path inside the workflow folder (got "../escape.py")',
  'workflows/ten_mistakes/tools.yaml:8:15: tools.1.function: must be a function name (got "not-a-fn")',
  'workflows/ten_mistakes/tools.yaml:10:5: tools.2.description: is required (or give the function a docstring, or a doc comment)',
];

describe('mozaiks validate', () => {
  it('reports ten distinct mistakes, each as file:line:column', () => {
    const report = validateWorkflows('workflows', dir.path);
    expect(report.checked).toEqual(['ten_mistakes']);
    expect(report.problems).toEqual(TEN);
  });

  it('exits 1 and prints them when run as a command, and 0 on the shipped workflows', () => {
    const failed = spawnSync(process.execPath, [BIN, 'validate', 'workflows/ten_mistakes'], {
      cwd: dir.path,
      encoding: 'utf8',
    });
    expect(failed.status).toBe(1);
    expect(failed.stdout.trim().split('\n')).toEqual(TEN);
    expect(failed.stderr).toContain('10 problem(s) in 1 workflow(s)');
    const ok = execFileSync(process.execPath, [BIN, 'validate', 'workflows'], {
      cwd: path.resolve(__dirname, '../../..'),
      encoding: 'utf8',
    });
    expect(ok).toContain('workflow(s) valid: hello, onboarding_flow');
  });

  it('reads a folder of the Python runtime with warnings (exit 0), which --strict makes problems (exit 1)', () => {
    const fixtures = path.resolve(__dirname, '../../../e2e/fixtures/workflows/upstream_planner');
    const lenient = spawnSync(process.execPath, [BIN, 'validate', fixtures], { cwd: dir.path, encoding: 'utf8' });
    expect(lenient.status).toBe(0);
    const warnings = lenient.stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes(': warning: '));
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(/upstream_planner\/orchestrator.yaml:2:1: warning: entry_point: has no effect here/);
    expect(lenient.stdout).toContain('1 workflow(s) valid: upstream_planner (4 warning(s): what has no effect here)');
    const strict = spawnSync(process.execPath, [BIN, 'validate', fixtures, '--strict'], {
      cwd: dir.path,
      encoding: 'utf8',
    });
    expect(strict.status).toBe(1);
    expect(strict.stdout).toMatch(/upstream_planner\/orchestrator.yaml:2:1: entry_point: has no effect here/);
    expect(strict.stderr).toContain('4 problem(s) in 1 workflow(s)');
  });
});
