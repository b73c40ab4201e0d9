// Reads a workflow file (YAML, or JSON, which YAML reads too) keeping the position of every node,
// so that a problem names its file, field, line and column.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type * as YamlLib from 'yaml';
import type { Document } from 'yaml';
import type { WorkflowProblem } from '../workflow-definition.js';

/** The YAML parser, loaded with the first workflow read (a service that reads none never loads it). */
let yamlLib: typeof YamlLib | undefined;
export function yaml(): typeof YamlLib {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (yamlLib ??= require('yaml') as typeof YamlLib);
}

export type Path = (string | number)[];
export type Locate = (field: Path) => { line: number; column: number };

export interface ReadDocument {
  value: unknown;
  locate: Locate;
  locateKey: (parent: Path, key: string) => { line: number; column: number };
  problems: WorkflowProblem[];
}

export const noPosition = () => ({ line: 1, column: 1 });

/** Reads a YAML (or JSON) file keeping positions; a file with a syntax error has problems and no value. */
export function readDocument(root: string, relative: string): ReadDocument | undefined {
  const full = path.join(root, relative);
  if (!existsSync(full)) return undefined;
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(full, 'utf8'), { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    return {
      value: undefined,
      locate: noPosition,
      locateKey: noPosition,
      problems: doc.errors.map((e) => ({
        file: relative,
        field: '',
        ...at(e.pos[0]),
        message: `${relative.endsWith('.json') ? 'JSON' : 'YAML'} syntax: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  return {
    value: doc.toJS() ?? {},
    locate: (field) => at(offsetOf(doc, field)),
    locateKey: (parent, key) => at(keyOffset(doc, parent, key) ?? offsetOf(doc, parent)),
    problems: [],
  };
}

/** Offset of the key `key` in the mapping at `parent`, if there is one. */
function keyOffset(doc: Document, parent: Path, key: string): number | undefined {
  const map = parent.length ? doc.getIn(parent, true) : doc.contents;
  const { isMap, isNode, isScalar } = yaml();
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return isNode(pair?.key) ? pair.key.range?.[0] : undefined;
}

/** Offset of the deepest node on `field` that exists: a missing key points at its parent. */
function offsetOf(doc: Document, field: Path): number {
  const { isNode } = yaml();
  for (let depth = field.length; depth > 0; depth--) {
    const node = doc.getIn(field.slice(0, depth), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return isNode(doc.contents) && doc.contents.range ? doc.contents.range[0] : 0;
}

/** The `name`s of the entries of a list as written (entries without one skipped). */
export function namesIn(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[]).flatMap((entry) => {
    const name = typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? [name] : [];
  });
}
