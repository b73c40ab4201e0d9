// Validating one source of a workflow (a file, or a part of the JSON form): every entry on its
// own, every issue placed where it stands in the document as written.
import type { z } from 'zod';
import type { Note } from '../python-format/shape.js';
import type { WorkflowProblem } from '../workflow-definition.js';
import { issueMessage, quote } from './problems.js';
import { noPosition } from './read-document.js';
import type { Path, ReadDocument } from './read-document.js';

/**
 * One source of a part of the workflow: the file it is placed in, its document, the value to
 * validate (reshaped or not) and the way from the value's paths to the document's.
 */
export interface Source {
  relative: string;
  read: ReadDocument;
  value: unknown;
  toDocument: (field: Path) => Path;
}

/** What validating a source found: its valid parts, with where each came from. */
export class Checked {
  readonly problems: WorkflowProblem[] = [];
  readonly warnings: WorkflowProblem[] = [];
  constructor(readonly source: Source | undefined) {}

  get relative(): string {
    return this.source?.relative ?? '';
  }

  locate(field: Path): { line: number; column: number } {
    return this.source ? this.source.read.locate(this.source.toDocument(field)) : noPosition();
  }

  problem(field: Path, message: string): void {
    this.problems.push({
      file: this.relative,
      field: (this.source?.toDocument(field) ?? field).join('.'),
      ...this.locate(field),
      message,
    });
  }

  /**
   * A broken reference the Python runtime passes over (a tool bound to no agent, a missing tool
   * file): in a folder of its form read leniently, a warning and the entry is skipped.
   */
  skip(field: Path, message: string, lenient: boolean): void {
    if (!lenient) return this.problem(field, message);
    this.warnings.push({
      file: this.relative,
      field: (this.source?.toDocument(field) ?? field).join('.'),
      ...this.locate(field),
      message: `${message}; skipped, as the Python runtime does (--strict refuses it)`,
    });
  }

  /** Places notes the adapter made on the document as written. */
  note(notes: Note[], into: WorkflowProblem[]): void {
    if (!this.source) return;
    for (const n of notes) {
      const where = n.key === undefined ? this.source.read.locate(n.field) : this.source.read.locateKey(n.field, n.key);
      into.push({
        file: this.relative,
        field: [...n.field, ...(n.key === undefined ? [] : [n.key])].join('.'),
        ...where,
        message: n.message,
      });
    }
  }

  /**
   * Parses `value` with `schema`. Unknown keys are removed with a warning when `lenient`;
   * otherwise every issue is a problem at its place, and undefined is returned.
   */
  parse<S extends z.ZodType>(schema: S, value: unknown, at: Path, lenient: boolean): z.infer<S> | undefined {
    let current = value;
    for (let attempt = 0; attempt < 20; attempt++) {
      const parsed = schema.safeParse(current, { reportInput: true });
      if (parsed.success) return parsed.data;
      const unknownKeys = parsed.error.issues.filter((i) => i.code === 'unrecognized_keys');
      if (lenient && unknownKeys.length) {
        current = structuredClone(current);
        for (const issue of unknownKeys) {
          const field = [...at, ...(issue.path as Path)];
          const holder = (issue.path as Path).reduce<unknown>(
            (o, k) => (o as Record<string | number, unknown>)?.[k],
            current,
          ) as Record<string, unknown>;
          for (const key of issue.keys) {
            delete holder[key];
            const doc = this.source!.toDocument(field);
            this.warnings.push({
              file: this.relative,
              field: [...doc, key].join('.'),
              ...this.source!.read.locateKey(doc, key),
              message: 'unknown field, ignored (mozaiks validate --strict refuses it)',
            });
          }
        }
        continue;
      }
      for (const issue of parsed.error.issues) {
        const field = [...at, ...(issue.path as Path)];
        if (issue.code === 'unrecognized_keys') {
          const doc = this.source!.toDocument(field);
          this.problems.push({
            file: this.relative,
            field: [...doc, issue.keys[0]!].join('.'),
            ...this.source!.read.locateKey(doc, issue.keys[0]!),
            message: `unknown field${issue.keys.length > 1 ? `s ${issue.keys.map((k) => `"${k}"`).join(', ')}` : ''}`,
          });
        } else this.problem(field, issueMessage(issue));
      }
      return undefined;
    }
    return undefined;
  }

  /** Keys at the top of the document other than `allowed`: problems, or warnings when lenient. */
  topLevel(allowed: readonly string[], lenient: boolean): void {
    const doc = this.source?.value;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return;
    for (const key of Object.keys(doc)) {
      if (allowed.includes(key)) continue;
      const doc = this.source!.toDocument([]);
      const where = this.source!.read.locateKey(doc, key);
      if (lenient)
        this.warnings.push({
          file: this.relative,
          field: key,
          ...where,
          message: 'unknown field, ignored (mozaiks validate --strict refuses it)',
        });
      else
        this.problems.push({
          file: this.relative,
          field: key,
          ...where,
          message: `unknown field; expected ${allowed.join(' or ')}`,
        });
    }
  }

  /** The entries of list `key` of the document, each validated alone: the valid ones, with their index. */
  entries<S extends z.ZodType>(
    key: string,
    entry: S,
    lenient: boolean,
    options: { min?: string } = {},
  ): Array<{ i: number; value: z.infer<S> }> {
    const doc = this.source?.value;
    if (doc === undefined) return [];
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      this.problem([], 'must be a mapping');
      return [];
    }
    const list = (doc as Record<string, unknown>)[key];
    if (list === undefined || list === null) {
      if (options.min) this.problem([key], options.min);
      return [];
    }
    if (!Array.isArray(list)) {
      this.problem([key], `must be a list (got ${quote(list)})`);
      return [];
    }
    if (options.min && list.length === 0) this.problem([key], options.min);
    return list.flatMap((item, i) => {
      const value = this.parse(entry, item, [key, i], lenient);
      return value === undefined ? [] : [{ i, value }];
    });
  }
}
