// The control plane's own token, for the API over chats (`/v1/...`): signed and checked as launch
// tokens are, it names an app instead of a chat, and its scope includes `chats:admin`.
import { z } from 'zod';
import { Id } from './ids.js';

/** The scope that lets a token read, export, delete and fork the chats of its app. */
export const ADMIN_SCOPE = 'chats:admin';

/** What a control-plane token must carry beyond the signature checks (`iss`, `aud`, `exp`). */
export const AdminTokenClaims = z.looseObject({
  iss: z.string().min(1),
  sub: z.string().optional(),
  exp: z.number(),
  iat: z.number().optional(),
  /** `chats:admin`, alone or in a space-separated list of scopes. */
  scope: z.string().optional(),
  app_id: Id,
});
export type AdminTokenClaims = z.infer<typeof AdminTokenClaims>;

/** Who calls the API over chats: every call is confined to `app_id`; `sub` and `iss` are audited. */
export interface AdminCaller {
  app_id: string;
  sub?: string;
  iss: string;
}

/** Whether a `scope` claim (space-separated) grants `wanted`. */
export function hasScope(scope: string | undefined, wanted: string): boolean {
  return (scope ?? '').split(' ').includes(wanted);
}
