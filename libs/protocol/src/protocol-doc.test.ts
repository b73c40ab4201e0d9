// Keeps PROTOCOL.md true: every message and event type has a section whose field table names
// exactly the schema's fields and whose example parses; error and close codes match the code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { CloseCode } from './close-codes';
import { ClientMessage } from './client-messages';
import { ERROR_CODES } from './errors';
import { ServerEvent } from './events';

const doc = readFileSync(path.join(__dirname, '../PROTOCOL.md'), 'utf8');

/** The text of `### \`name\`` up to the next heading. */
function section(name: string): string {
  const start = doc.indexOf(`### \`${name}\``);
  if (start < 0) throw new Error(`PROTOCOL.md has no section for ${name}`);
  const rest = doc.slice(start + 4);
  const end = rest.search(/\n##+ /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Backticked names in the first column of the section's field table. */
function tableFields(text: string): string[] {
  return [...text.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!);
}

function example(text: string): unknown {
  const match = text.match(/```json\n([\s\S]*?)\n```/);
  if (!match) throw new Error('section has no JSON example');
  return JSON.parse(match[1]!);
}

/** The rows of the table under `## title`, first column. */
function tableUnder(title: string): string[] {
  const start = doc.indexOf(`## ${title}\n`);
  const rest = doc.slice(start + title.length + 4);
  const end = rest.search(/\n## /);
  return [...(end < 0 ? rest : rest.slice(0, end)).matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

const messages: Array<[string, z.ZodObject]> = [
  ...ClientMessage.options.map((o) => [o.shape.type.value, o] as [string, z.ZodObject]),
  ...ServerEvent.options.map((o) => [o.shape.type.value, o] as [string, z.ZodObject]),
];

describe('PROTOCOL.md', () => {
  it.each(messages)('documents %s with exactly its fields and a valid example', (type, schema) => {
    const text = section(type);
    expect(tableFields(text).sort()).toEqual(Object.keys(schema.shape).sort());
    const parsed = schema.safeParse(example(text));
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it('lists every error code, and no other', () => {
    expect(tableUnder('Error codes').sort()).toEqual([...ERROR_CODES].sort());
  });

  it('lists every close code, and no other', () => {
    expect(tableUnder('Close codes').map(Number).sort()).toEqual(Object.values(CloseCode).sort());
  });
});
