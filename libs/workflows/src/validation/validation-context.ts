// What every file's validation shares: the folder, how strictly it is read, and the agents' names
// that other files refer to.
import path from 'node:path';
import { SPECIAL_TARGETS } from '../file-schemas.js';

export interface FolderContext {
  workflowId: string;
  /** The workflow's folder. */
  dir: string;
  /**
   * Read as the Python runtime reads its folders: a broken reference is a warning and the entry is
   * skipped, an unknown key is ignored with a warning.
   */
  lenient: boolean;
  /** Warnings are problems (`mozaiks validate --strict`). */
  strict: boolean;
}

/** The agents' names as written (every entry counts, even one with other problems), for references. */
export class AgentNames {
  constructor(
    private readonly names: ReadonlySet<string>,
    /** Whether the agents file was read at all: without it, references are not checked. */
    readonly known: boolean,
    /** The agents file, for messages. */
    private readonly file: string,
  ) {}

  has(name: string): boolean {
    return this.names.has(name);
  }

  /** A name that is not an agent (only when the agents are known). */
  unknown(name: string): boolean {
    return this.known && !this.names.has(name);
  }

  /** What is said of a reference to an agent that does not exist. */
  missing(name: string): string {
    return `no agent named "${name}" in ${path.basename(this.file || 'agents.yaml')}`;
  }

  /** Whether a handoff may go to `target`: an agent, the user, or the end of the run. */
  isTarget(target: string): boolean {
    return (SPECIAL_TARGETS as readonly string[]).includes(target) || this.names.has(target);
  }

  /** What is said of a handoff target that is none of those. */
  missingTarget(target: string): string {
    return `${this.missing(target)} (or use ${SPECIAL_TARGETS.join(' or ')})`;
  }
}
