// Checks the data folder before SQLite opens its file there, so a start that cannot use it says
// why in the operating system's words (EACCES, EROFS, ENOSPC, ENOTDIR, ENOENT) rather than
// SQLite's "unable to open database file".
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * Why the database `file` cannot live in `dir`, or undefined when it can: the folder is made if
 * missing, a small file is written in it and removed (SQLite writes its -wal and -shm files
 * there too), and an existing database file must be readable and writable.
 */
export function dataDirProblem(dir: string, file: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    return `the folder ${dir} cannot be made: ${systemReason(error)}`;
  }
  const probe = path.join(dir, `.mozaiks-write-check-${process.pid}`);
  try {
    const fd = openSync(probe, 'w');
    try {
      writeSync(fd, 'ok');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    return `the folder ${dir} cannot be written: ${systemReason(error)}`;
  } finally {
    try {
      unlinkSync(probe);
    } catch {
      // Never made, or gone already.
    }
  }
  if (existsSync(file)) {
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (error) {
      return `the file cannot be read and written: ${systemReason(error)}`;
    }
  }
  return undefined;
}

/** `EACCES: permission denied` from a Node system error (its message without the call and path). */
function systemReason(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message.split(',')[0]! : String(error);
  return typeof code === 'string' && !text.startsWith(code) ? `${code}: ${text}` : text;
}
