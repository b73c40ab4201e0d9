// Identifier rules shared by tokens, messages and bus subjects. Ids become NATS subject tokens and
// workflow ids become folder names, so they may not hold dots, wildcards, slashes or whitespace.
import { z } from 'zod';

/** Characters an id may use: letters, digits, `_`, `-`, `:` and `@`; 1 to 128 of them. */
export const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_:@-]{0,127}$/;

export const Id = z
  .string()
  .regex(
    ID_PATTERN,
    'must be 1-128 characters of letters, digits, "_", "-", ":" or "@", not starting with "-", ":" or "@"',
  );
export type Id = z.infer<typeof Id>;

/** The owner of a chat: every stored chat, message and event belongs to one. */
export const Tenant = z.object({ app_id: Id, user_id: Id });
export type Tenant = z.infer<typeof Tenant>;

/** A new event id: `evt_` and 32 hex digits, unique per event. */
export function newEventId(): string {
  return `evt_${globalThis.crypto.randomUUID().replace(/-/g, '')}`;
}

/**
 * A workflow version: the first 16 hex digits of the SHA-256 of the workflow's folder (every file,
 * paths sorted, line ends normalized). A chat runs the version its first run used.
 */
export const WorkflowVersion = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex digits');
export type WorkflowVersion = z.infer<typeof WorkflowVersion>;
