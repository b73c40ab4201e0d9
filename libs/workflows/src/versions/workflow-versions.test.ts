// Workflow versions: a folder's content hash, and versions served by id whatever the folder holds now.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError, WorkflowVersions, readWorkflowFiles, workflowVersion } from '../index';
import type { VersionSource, WorkflowFiles } from '../index';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'mozaiks-versions-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
}

const ORCHESTRATOR = 'workflow_name: Desk\nmax_turns: 3\n';
const agents = (name: string) => `agents:\n  - name: ${name}\n    system_message: You help.\n`;

/** A store of versions as a process shares them, kept in a map (the store adapters have their own contract). */
class MapSource implements VersionSource {
  readonly stored = new Map<string, WorkflowFiles>();
  saves = 0;
  async saveWorkflowVersion(id: string, version: string, files: WorkflowFiles): Promise<void> {
    this.saves++;
    if (!this.stored.has(`${id}@${version}`)) this.stored.set(`${id}@${version}`, files);
  }
  async loadWorkflowVersion(id: string, version: string): Promise<WorkflowFiles | undefined> {
    return this.stored.get(`${id}@${version}`);
  }
}

describe('workflow versions', () => {
  it('hash every file of the folder with line ends normalized: 16 hex digits, changed by any file', () => {
    const a = path.join(root, 'a');
    const b = path.join(root, 'b');
    write(a, {
      'orchestrator.yaml': ORCHESTRATOR,
      'agents.yaml': agents('Intake'),
      'tools/echo.js': 'export const echo = (x) => x;\n',
    });
    write(b, {
      'orchestrator.yaml': ORCHESTRATOR.replace(/\n/g, '\r\n'),
      'agents.yaml': agents('Intake'),
      'tools/echo.js': 'export const echo = (x) => x;\n',
      '__pycache__/echo.cpython-311.pyc': 'compiled',
      '.DS_Store': 'finder',
    });
    const version = workflowVersion(readWorkflowFiles(a));
    expect(version).toMatch(/^[0-9a-f]{16}$/);
    expect(workflowVersion(readWorkflowFiles(b))).toBe(version);
    write(b, { 'tools/echo.js': 'export const echo = (x) => `${x}!`;\n' });
    expect(workflowVersion(readWorkflowFiles(b))).not.toBe(version);
    expect(Object.keys(readWorkflowFiles(b))).toEqual(['agents.yaml', 'orchestrator.yaml', 'tools/echo.js']);
  });

  it('store the current version once, and serve an older one from the store after the folder changed', async () => {
    const workflows = path.join(root, 'workflows');
    write(path.join(workflows, 'desk'), { 'orchestrator.yaml': ORCHESTRATOR, 'agents.yaml': agents('Intake') });
    const source = new MapSource();
    const here = new WorkflowVersions({
      workflowsDir: workflows,
      cacheDir: path.join(root, 'cache-1'),
      source,
      recheckMs: 0,
    });
    const first = await here.current('desk');
    expect(first.definition.agents.map((a) => a.name)).toEqual(['Intake']);
    expect((await here.current('desk')).version).toBe(first.version);
    expect(source.saves).toBe(1);

    // A deploy renames the agent: the current version is new, the old one is still served by id.
    write(path.join(workflows, 'desk'), { 'agents.yaml': agents('Drafter') });
    utimesSync(path.join(workflows, 'desk', 'agents.yaml'), new Date(), new Date(Date.now() + 5000));
    const second = await here.current('desk');
    expect(second.version).not.toBe(first.version);
    expect(second.definition.agents.map((a) => a.name)).toEqual(['Drafter']);
    expect((await here.get('desk', first.version))?.definition.agents.map((a) => a.name)).toEqual(['Intake']);

    // Another host, with no folder for the workflow and its own cache: from the store.
    const elsewhere = new WorkflowVersions({
      workflowsDir: path.join(root, 'none'),
      cacheDir: path.join(root, 'cache-2'),
      source,
    });
    await expect(elsewhere.current('desk')).rejects.toBeInstanceOf(WorkflowNotFoundError);
    const pinned = await elsewhere.get('desk', first.version);
    expect(pinned?.definition.agents.map((a) => a.name)).toEqual(['Intake']);
    expect(pinned?.definition.dir).toBe(path.join(root, 'cache-2', first.version, 'desk'));
    expect(await elsewhere.get('desk', '0000000000000000')).toBeUndefined();
  });

  it('refuse stored files that do not hash to their version, or whose paths leave the folder', async () => {
    const source = new MapSource();
    const files = { 'orchestrator.yaml': ORCHESTRATOR, 'agents.yaml': agents('Intake') };
    const version = workflowVersion(files);
    source.stored.set(`desk@${version}`, { ...files, 'agents.yaml': agents('Intruder') });
    const versions = new WorkflowVersions({ workflowsDir: root, cacheDir: path.join(root, 'cache'), source });
    await expect(versions.get('desk', version)).rejects.toThrow(/do not hash to that version/);
    const escaping = { ...files, '../../escaped.js': 'x' };
    const escapingVersion = workflowVersion(escaping);
    source.stored.set(`desk@${escapingVersion}`, escaping);
    await expect(versions.get('desk', escapingVersion)).rejects.toThrow(/leaves its folder/);
  });
});
