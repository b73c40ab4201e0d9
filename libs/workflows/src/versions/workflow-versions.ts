// Workflows by id and version. The current version is the folder's files as they are now (looked
// at once per `recheckMs`); every version this process loads is stored once through its source, so
// any process can run it later, whatever its own files say. A version is run from a copy of its
// files under `cacheDir/<version>/<id>/` (written once, shared by the processes of a host), never
// from the workflows folder, so the files a run reads are exactly the ones its version names.
import { createHash, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { ID_PATTERN } from '@mozaiks/protocol';
import { loadWorkflow } from '../loading/load-workflow.js';
import { WorkflowNotFoundError } from '../loading/problems.js';
import { isWorkflowFolder } from '../loading/workflow-files.js';
import type { WorkflowDefinition } from '../workflow-definition.js';
import { folderStamp, readWorkflowFiles, workflowVersion } from './workflow-snapshot.js';
import type { WorkflowFiles } from './workflow-snapshot.js';

/** Where versions are kept between processes: the store, or (for the tool-runner) the executors over the bus. */
export interface VersionSource {
  /** Stores a version's files; storing one that is there already changes nothing. */
  saveWorkflowVersion(workflowId: string, version: string, files: WorkflowFiles): Promise<void>;
  /** A stored version's files; undefined when none is stored under that version. */
  loadWorkflowVersion(workflowId: string, version: string): Promise<WorkflowFiles | undefined>;
}

/** A workflow's definition and the version of the files it was loaded from. */
export interface VersionedWorkflow {
  definition: WorkflowDefinition;
  version: string;
}

export interface WorkflowVersionsOptions {
  workflowsDir: string;
  /**
   * Folder the versions run from are written to (created when missing).
   * @default <tmpdir>/mozaiks-workflow-versions/<hash of workflowsDir's path>
   */
  cacheDir?: string;
  /** Keeps the versions this process loads and gives those it lacks; without one, only this host's files count. */
  source?: VersionSource;
  /** How long the current version is served before the folder is looked at again. @default 1000 */
  recheckMs?: number;
}

export class WorkflowVersions {
  private readonly currents = new Map<string, { stamp: string; versioned: VersionedWorkflow; checkedAt: number }>();
  private readonly loaded = new Map<string, Promise<VersionedWorkflow | undefined>>();
  private readonly saved = new Map<string, Promise<void>>();
  private readonly recheckMs: number;
  private readonly cacheDir: string;

  constructor(private readonly options: WorkflowVersionsOptions) {
    this.recheckMs = options.recheckMs ?? 1000;
    this.cacheDir = options.cacheDir ?? defaultCacheDir(options.workflowsDir);
  }

  /**
   * The workflow `id` as its files are now, stored as a version before it is returned.
   * @throws WorkflowNotFoundError, WorkflowValidationError as `loadWorkflow` does; the source's errors.
   */
  async current(id: string): Promise<VersionedWorkflow> {
    const cached = this.currents.get(id);
    const now = performance.now();
    if (cached && now - cached.checkedAt < this.recheckMs) return cached.versioned;
    const dir = path.join(this.options.workflowsDir, id);
    if (!ID_PATTERN.test(id) || !isWorkflowFolder(dir)) throw new WorkflowNotFoundError(id, dir);
    const stamp = folderStamp(dir);
    if (cached && cached.stamp === stamp) {
      cached.checkedAt = now;
      return cached.versioned;
    }
    const files = readWorkflowFiles(dir);
    const version = workflowVersion(files);
    const versioned = (await this.load(id, version, async () => files))!;
    await this.save(id, version, files);
    this.currents.set(id, { stamp, versioned, checkedAt: now });
    return versioned;
  }

  /**
   * Loads the current version of every workflow in the folder, so the first message after a start
   * does not wait (with the whole process) for its workflow's files to be read and checked. Returns
   * each workflow that could not be loaded with why; it fails again, with the same words, when a
   * chat asks for it.
   */
  async warmUp(): Promise<Array<{ workflowId: string; error: unknown }>> {
    const dir = this.options.workflowsDir;
    const ids = existsSync(dir)
      ? readdirSync(dir)
          .filter((id) => ID_PATTERN.test(id) && isWorkflowFolder(path.join(dir, id)))
          .sort()
      : [];
    const failed: Array<{ workflowId: string; error: unknown }> = [];
    for (const workflowId of ids) await this.current(workflowId).catch((error) => failed.push({ workflowId, error }));
    return failed;
  }

  /**
   * The workflow `id` at `version`: loaded before by this process, written out on this host, or
   * fetched from the source. Undefined when none of them has it.
   */
  async get(id: string, version: string): Promise<VersionedWorkflow | undefined> {
    return this.load(id, version, async () => {
      const files = await this.options.source?.loadWorkflowVersion(id, version);
      if (files && workflowVersion(files) !== version)
        throw new Error(`the stored files of workflow ${id} version ${version} do not hash to that version`);
      return files;
    });
  }

  /** Loads a version once per process; a failed or missing load is tried again next time. */
  private load(
    id: string,
    version: string,
    fetch: () => Promise<WorkflowFiles | undefined>,
  ): Promise<VersionedWorkflow | undefined> {
    const key = `${id}@${version}`;
    let loading = this.loaded.get(key);
    if (!loading) {
      loading = (async () => {
        const root = path.join(this.cacheDir, version);
        if (!existsSync(path.join(root, id))) {
          const files = await fetch();
          if (!files) return undefined;
          linkNodeModules(this.cacheDir, this.options.workflowsDir);
          writeVersion(root, id, files);
        }
        return { definition: loadWorkflow(root, id), version };
      })();
      this.loaded.set(key, loading);
      loading.then(
        (found) => found ?? this.loaded.delete(key),
        () => this.loaded.delete(key),
      );
    }
    return loading;
  }

  private save(id: string, version: string, files: WorkflowFiles): Promise<void> {
    const source = this.options.source;
    if (!source) return Promise.resolve();
    const key = `${id}@${version}`;
    let saving = this.saved.get(key);
    if (!saving) {
      saving = source.saveWorkflowVersion(id, version, files);
      this.saved.set(key, saving);
      saving.catch(() => this.saved.delete(key));
    }
    return saving;
  }
}

/**
 * A folder of the system's temporary one per workflows folder: never under DATA_DIR (on MongoDB a
 * process keeps nothing of its own there), and writable where the root file system is read-only.
 */
function defaultCacheDir(workflowsDir: string): string {
  const of = createHash('sha256').update(path.resolve(workflowsDir)).digest('hex').slice(0, 12);
  return path.join(tmpdir(), 'mozaiks-workflow-versions', of);
}

/**
 * Lets code of a version written out under `cacheDir` (a custom agent class) import the packages
 * code in the workflows folder could: a link to the nearest `node_modules` above that folder.
 */
function linkNodeModules(cacheDir: string, workflowsDir: string): void {
  const link = path.join(cacheDir, 'node_modules');
  for (let dir = path.resolve(workflowsDir); ; dir = path.dirname(dir)) {
    const modules = path.join(dir, 'node_modules');
    if (existsSync(modules)) {
      if (existsSync(link) && realpathSync(link) === realpathSync(modules)) return;
      mkdirSync(cacheDir, { recursive: true });
      rmSync(link, { force: true });
      try {
        symlinkSync(modules, link, 'dir');
      } catch (error) {
        // Another process linked it meanwhile.
        if ((error as { code?: string }).code !== 'EEXIST') throw error;
      }
      return;
    }
    if (path.dirname(dir) === dir) return;
  }
}

/**
 * Writes a version's files to `root/id`, whole or not at all (written aside, then renamed), so a
 * process reading it never sees half of it. Paths that would leave the folder are refused.
 */
function writeVersion(root: string, id: string, files: WorkflowFiles): void {
  const target = path.join(root, id);
  const temp = path.join(root, `.${id}.${process.pid}.${randomUUID()}`);
  for (const [relative, text] of Object.entries(files)) {
    const full = path.resolve(temp, relative);
    if (path.isAbsolute(relative) || !full.startsWith(temp + path.sep))
      throw new Error(`workflow ${id}: a stored file path leaves its folder: ${relative}`);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, text);
  }
  mkdirSync(temp, { recursive: true });
  try {
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    // Another process wrote the same version first: its copy has the same content.
    if (!existsSync(target)) throw error;
  }
}
