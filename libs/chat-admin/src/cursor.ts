// The cursor of a chat listing: where the page before ended (the last chat's activity, user and
// chat id), opaque to clients (base64url of JSON), checked when it comes back.
import type { CatalogPosition } from '@mozaiks/store';

/** The cursor that continues a listing after `last`. */
export function encodeCursor(last: CatalogPosition): string {
  return Buffer.from(JSON.stringify([last.last_activity_at, last.user_id, last.chat_id])).toString('base64url');
}

/** The position a cursor names; undefined when it is not one `encodeCursor` made. */
export function decodeCursor(cursor: string): CatalogPosition | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 3 || !value.every((v) => typeof v === 'string')) return undefined;
    const [last_activity_at, user_id, chat_id] = value as [string, string, string];
    return { last_activity_at, user_id, chat_id };
  } catch {
    return undefined;
  }
}
