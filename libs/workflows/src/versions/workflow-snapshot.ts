// A workflow folder as text, and its version: the content hash of every file in it (paths sorted,
// line ends normalized), so two folders with the same files have the same version wherever they are.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/** A folder's files: path inside it (with `/`) → text, paths in sorted order. */
export type WorkflowFiles = Record<string, string>;

/** Bytes a versioned folder may hold: its files travel in one bus message and one store record. */
export const MAX_VERSION_BYTES = 768 * 1024;

/** Names never part of a version: caches and tools' installs, hidden files. */
const SKIPPED = new Set(['__pycache__', 'node_modules']);

function skipped(name: string): boolean {
  return SKIPPED.has(name) || name.startsWith('.');
}

/**
 * Every versioned file under `dir`, relative and sorted. A link counts as the file it points to
 * only when that lies inside the folder: nothing outside it ever becomes part of a version.
 */
function listFiles(dir: string, prefix = '', root = realpathSync(dir)): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    if (skipped(entry.name)) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, relative, root));
    else if (entry.isFile() || (entry.isSymbolicLink() && linksInside(root, path.join(dir, relative))))
      out.push(relative);
  }
  return out.sort();
}

/** Whether the link at `file` leads to a file inside `root`. */
function linksInside(root: string, file: string): boolean {
  try {
    const target = realpathSync(file);
    return target.startsWith(root + path.sep) && statSync(target).isFile();
  } catch {
    return false;
  }
}

/** Size and modification time of every versioned file: changes whenever the folder's content may have. */
export function folderStamp(dir: string): string {
  return listFiles(dir)
    .map((f) => {
      const s = statSync(path.join(dir, f));
      return `${f}:${s.size}:${s.mtimeMs}`;
    })
    .join('|');
}

/**
 * Reads the folder's files as text with `\r\n` made `\n`.
 * @throws Error when they hold more than MAX_VERSION_BYTES.
 */
export function readWorkflowFiles(dir: string): WorkflowFiles {
  const files: WorkflowFiles = {};
  let bytes = 0;
  for (const relative of listFiles(dir)) {
    const text = readFileSync(path.join(dir, relative), 'utf8').replace(/\r\n/g, '\n');
    bytes += Buffer.byteLength(text);
    files[relative] = text;
  }
  if (bytes > MAX_VERSION_BYTES)
    throw new Error(
      `the workflow folder ${dir} holds ${bytes} bytes; a workflow version may hold ${MAX_VERSION_BYTES} (move data files elsewhere)`,
    );
  return files;
}

/** The version of a folder's files: the first 16 hex digits of the SHA-256 of paths and contents. */
export function workflowVersion(files: WorkflowFiles): string {
  const hash = createHash('sha256');
  for (const relative of Object.keys(files).sort()) hash.update(`${relative}\0${files[relative]}\0`);
  return hash.digest('hex').slice(0, 16);
}
