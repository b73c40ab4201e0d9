// libs/protocol/asyncapi.yaml is the protocol: generated from the zod schemas, read by the AsyncAPI
// parser without an error, naming every message type, each example valid.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Parser } from '@asyncapi/parser';
import { parse } from 'yaml';
import { asyncApiDocument, protocolExamples } from './asyncapi';
import { CLIENT_MESSAGE_TYPES, ClientMessage } from './client-messages';
import { SERVER_EVENT_TYPES, ServerEvent } from './events';

const file = path.join(__dirname, '../asyncapi.yaml');
const text = readFileSync(file, 'utf8');
const examples = protocolExamples(readFileSync(path.join(__dirname, '../PROTOCOL.md'), 'utf8'));

describe('asyncapi.yaml', () => {
  it('is what the zod schemas and PROTOCOL.md produce (npm run asyncapi), rendered in asyncapi.html', async () => {
    expect(parse(text)).toEqual(asyncApiDocument(examples));
    // The page renderer is the script's (scripts/asyncapi-page.mjs): the protocol holds the contract only.
    const renderer = path.join(__dirname, '../../../scripts/asyncapi-page.mjs');
    const { asyncApiHtml } = (await import(renderer)) as { asyncApiHtml: (doc: unknown) => string };
    const html = readFileSync(path.join(__dirname, '../asyncapi.html'), 'utf8');
    expect(html).toBe(asyncApiHtml(asyncApiDocument(examples)));
    for (const type of [...CLIENT_MESSAGE_TYPES, ...SERVER_EVENT_TYPES])
      expect(html).toContain(`<h3><code>${type}</code></h3>`);
  });

  it('parses as AsyncAPI 3 without an error', async () => {
    const { document, diagnostics } = await new Parser().parse(text);
    const errors = diagnostics.filter((d) => Number(d.severity) === 0).map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    const chat = document!.channels().get('chat')!;
    const titles = chat
      .messages()
      .all()
      .map((m) => m.title());
    expect(titles).toEqual(expect.arrayContaining([...CLIENT_MESSAGE_TYPES, ...SERVER_EVENT_TYPES]));
    expect(
      document!
        .channels()
        .all()
        .map((c) => c.address()),
    ).toEqual(
      expect.arrayContaining([
        'mozaiks.run.{app_id}.{workflow_id}',
        'mozaiks.tool.{app_id}.{workflow_id}',
        'mozaiks.usage.{app_id}.{user_id}',
      ]),
    );
  });

  it('carries a valid example of every message type', () => {
    const doc = parse(text) as {
      components: { messages: Record<string, { title: string; examples?: Array<{ payload: unknown }> }> };
    };
    for (const type of [...CLIENT_MESSAGE_TYPES, ...SERVER_EVENT_TYPES]) {
      const message = Object.values(doc.components.messages).find((m) => m.title === type)!;
      expect([type, message.examples?.length ?? 0]).toEqual([type, 1]);
      const schema = (CLIENT_MESSAGE_TYPES as string[]).includes(type) ? ClientMessage : ServerEvent;
      const checked = schema.safeParse(message.examples![0]!.payload);
      expect([type, checked.success ? 'valid' : checked.error.message]).toEqual([type, 'valid']);
    }
  });
});
