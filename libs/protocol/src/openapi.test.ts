// libs/protocol/openapi.yaml is the HTTP contract: generated from the zod schemas, valid OpenAPI 3.1
// to a parser that checks it against the specification's schema, naming every endpoint the
// runtime serves.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validate } from '@readme/openapi-parser';
import { parse } from 'yaml';
import { openApiDocument } from './openapi';

const text = readFileSync(path.join(__dirname, '../openapi.yaml'), 'utf8');

describe('openapi.yaml', () => {
  it('is what the zod schemas produce (npm run openapi)', () => {
    expect(parse(text)).toEqual(openApiDocument());
  });

  it('is valid OpenAPI 3.1, every endpoint and method the runtime serves in it', async () => {
    const result = await validate(parse(text) as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : result.errors).toEqual([]);
    const doc = parse(text) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.fromEntries(Object.entries(doc.paths).map(([p, ops]) => [p, Object.keys(ops).sort()]))).toEqual({
      '/chat/start': ['post'],
      '/v1/chats': ['get'],
      '/v1/chats/{chat_id}': ['delete', 'get'],
      '/v1/chats/{chat_id}/events': ['get'],
      '/v1/chats/{chat_id}/fork': ['post'],
      '/v1/users/{user_id}': ['delete'],
      '/v1/users/{user_id}/export': ['get'],
      '/health': ['get'],
      '/ready': ['get'],
    });
  });
});
