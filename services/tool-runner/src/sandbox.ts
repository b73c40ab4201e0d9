// How a tool worker process is started: which interpreter, under which restrictions. JavaScript
// runs under Node's permission model; Python under the host's audit hook; both under a memory cap.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const HOSTS_DIR = path.resolve(__dirname, '../hosts');

export type ToolLanguage = 'node' | 'python';

/** The language whose worker runs a tool file, by its extension; undefined for other files. */
export function languageOf(file: string): ToolLanguage | undefined {
  if (file.endsWith('.py')) return 'python';
  if (/\.(js|mjs|cjs|ts)$/.test(file)) return 'node';
  return undefined;
}

/** A worker process to start. */
export interface WorkerCommand {
  command: string;
  args: string[];
  /** The process's whole environment. */
  env: Record<string, string>;
  cwd: string;
}

export interface SandboxOptions {
  /** Memory one worker may use, in MiB. */
  memoryMb: number;
  /** The Python interpreter for .py tools, found on PATH when not a path. @default 'python3' */
  python?: string;
}

/** Builds worker commands; what the platform offers (prlimit, the interpreter) is found once. */
export class ToolSandbox {
  private readonly prlimit: string | undefined;
  private readonly setpriv: string | undefined;
  private readonly nodePermissionFlag: string;
  private readonly nodeReadable: string[];
  private pythonExecutable: string | undefined | null = null;

  constructor(private readonly options: SandboxOptions) {
    this.prlimit = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));
    this.setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
    this.nodePermissionFlag = process.allowedNodeEnvironmentFlags.has('--permission')
      ? '--permission'
      : '--experimental-permission';
    const sucrase = require.resolve('sucrase');
    this.nodeReadable = [path.join(HOSTS_DIR, 'js-host.mjs'), ...packageClosure('sucrase', path.dirname(sucrase))];
  }

  /** What the platform lacks for the full sandbox, for the runner to warn of at start. */
  get missing(): string[] {
    return [
      ...(this.prlimit
        ? []
        : ['prlimit (util-linux): JavaScript tools are held to their heap size only, not their buffers']),
      ...(this.setpriv ? [] : ['setpriv (util-linux): tool workers outlive a runner that is killed outright']),
    ];
  }

  /** The command for a worker of `language` serving tools of `workflowDir`; throws when the interpreter is missing. */
  command(language: ToolLanguage, workflowDir: string, env: Record<string, string>): WorkerCommand {
    const memoryBytes = this.options.memoryMb * 1024 * 1024;
    if (language === 'python') {
      const settings = JSON.stringify({ workflow_dir: workflowDir, memory_bytes: memoryBytes, env: Object.keys(env) });
      return this.launch(
        [this.python(), '-I', '-B', '-X', 'utf8', path.join(HOSTS_DIR, 'py-host.py'), settings],
        env,
        workflowDir,
      );
    }
    const settings = JSON.stringify({ workflowDir, sucrase: require.resolve('sucrase') });
    const node = [
      process.execPath,
      this.nodePermissionFlag,
      ...[workflowDir, ...this.nodeReadable].map((p) => `--allow-fs-read=${p}`),
      `--max-old-space-size=${this.options.memoryMb}`,
      '--experimental-detect-module',
      '--no-warnings',
      path.join(HOSTS_DIR, 'js-host.mjs'),
      settings,
    ];
    // V8's heap limit stops ordinary objects; the data limit stops buffers and native memory too.
    // It sits above the heap limit so that V8's own, clearer out-of-memory report comes first.
    return this.launch(
      this.prlimit ? [this.prlimit, `--data=${memoryBytes + NODE_BASE_BYTES}`, '--core=0', '--', ...node] : node,
      env,
      workflowDir,
    );
  }

  /**
   * Runs `argv` so that it can never gain privileges and dies with the runner, even when the
   * runner is killed outright (setpriv from util-linux; each step execs the next, one process).
   */
  private launch(argv: string[], env: Record<string, string>, cwd: string): WorkerCommand {
    const full = this.setpriv ? [this.setpriv, '--pdeathsig', 'KILL', '--no-new-privs', '--', ...argv] : argv;
    return { command: full[0]!, args: full.slice(1), env, cwd };
  }

  private python(): string {
    if (this.pythonExecutable === null) this.pythonExecutable = findPython(this.options.python ?? 'python3');
    if (!this.pythonExecutable)
      throw new Error(`no Python interpreter "${this.options.python ?? 'python3'}" found to run Python tools`);
    return this.pythonExecutable;
  }
}

/** Node's own footprint, which the data limit allows above the heap limit. */
const NODE_BASE_BYTES = 192 * 1024 * 1024;

/**
 * The interpreter's real path: launchers such as pyenv's shims need variables of their own, and
 * tools start with an empty environment.
 */
function findPython(name: string): string | undefined {
  const probe = spawnSync(name, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 10_000 });
  const executable = probe.status === 0 ? probe.stdout.trim() : '';
  return executable && existsSync(executable) ? executable : undefined;
}

/** The folders of a package and of every package it depends on, which its host must be able to read. */
function packageClosure(name: string, from: string): string[] {
  const seen = new Map<string, string>();
  const visit = (pkg: string, start: string) => {
    let dir = start;
    while (!existsSync(path.join(dir, 'package.json')) || readJson(path.join(dir, 'package.json')).name !== pkg) {
      const parent = path.dirname(dir);
      if (parent === dir) return;
      dir = parent;
    }
    if (seen.has(pkg)) return;
    seen.set(pkg, dir);
    const deps = Object.keys(
      (readJson(path.join(dir, 'package.json')).dependencies as Record<string, string> | undefined) ?? {},
    );
    for (const dep of deps) {
      try {
        visit(dep, path.dirname(require.resolve(`${dep}/package.json`, { paths: [dir] })));
      } catch {
        // A dependency without an exported package.json: found from its main file instead.
        try {
          visit(dep, path.dirname(require.resolve(dep, { paths: [dir] })));
        } catch {
          // Optional or absent: nothing to allow.
        }
      }
    }
  };
  visit(name, from);
  return [...seen.values()];
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}
