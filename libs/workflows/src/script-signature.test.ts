// JavaScript and TypeScript tools' schemas from their declared types, as the model will see them.
import { readScriptSignature } from './script-signature';

describe('readScriptSignature', () => {
  it("reads a TypeScript function's argument type, its property docs and the function's doc comment", () => {
    const source = `
interface Recipient {
  /** The address. */
  email: string;
  name?: string;
}
type Priority = 'low' | 'high';

/**
 * Send an email to the customer.
 *
 * Longer notes the model does not need.
 */
export async function send_email(args: { to: Recipient; cc?: string[]; priority: Priority; retries?: number; tags: Record<string, boolean> }, context: unknown) {
  return { sent: true };
}`;
    expect(readScriptSignature(source, 'email.ts', 'send_email')).toEqual({
      description: 'Send an email to the customer.',
      parameters: {
        type: 'object',
        properties: {
          to: {
            type: 'object',
            properties: { email: { type: 'string', description: 'The address.' }, name: { type: 'string' } },
            required: ['email'],
            additionalProperties: false,
          },
          cc: { type: 'array', items: { type: 'string' } },
          priority: { enum: ['low', 'high'] },
          retries: { type: 'number' },
          tags: { type: 'object', additionalProperties: { type: 'boolean' } },
        },
        required: ['to', 'priority', 'tags'],
        additionalProperties: false,
      },
    });
  });

  it('reads JSDoc types of a JavaScript function, whole or one property per tag', () => {
    const whole = `
/** Look up an order. @param {{ id: string, verbose?: boolean }} args */
export const lookup_order = async (args) => ({ found: args.id });`;
    expect(readScriptSignature(whole, 'orders.mjs', 'lookup_order')).toEqual({
      description: 'Look up an order.',
      parameters: {
        type: 'object',
        properties: { id: { type: 'string' }, verbose: { type: 'boolean' } },
        required: ['id'],
        additionalProperties: false,
      },
    });
    const tags = `
/**
 * The current time.
 * @param {object} args
 * @param {string} [args.time_zone] - An IANA time zone; UTC when omitted.
 * @param {number} args.offset How many minutes to add.
 */
exports.current_time = function (args) { return new Date().toISOString(); };`;
    expect(readScriptSignature(tags, 'clock.cjs', 'current_time')).toEqual({
      description: 'The current time.',
      parameters: {
        type: 'object',
        properties: {
          time_zone: { type: 'string', description: 'An IANA time zone; UTC when omitted.' },
          offset: { type: 'number', description: 'How many minutes to add.' },
        },
        required: ['offset'],
        additionalProperties: false,
      },
    });
  });

  it('says nothing it cannot tell: an untyped function, an open type, a missing function', () => {
    expect(readScriptSignature('export function ping(args) { return 1; }', 'p.js', 'ping')).toEqual({});
    expect(readScriptSignature('export function ping(args: any) { return 1; }', 'p.ts', 'ping')).toEqual({});
    expect(readScriptSignature('export function pong() {}', 'p.js', 'ping')).toBeUndefined();
  });
});
