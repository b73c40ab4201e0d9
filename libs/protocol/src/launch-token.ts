// The launch token's claims: what the control plane promises about one workflow execution.
import { z } from 'zod';
import { Id } from './ids.js';

/** The only scope that lets a token run a workflow. */
export const EXECUTE_SCOPE = 'workflow:execute';

/** Claims the runtime itself reads; every other claim is custom and passes to the workflow. */
export const REGISTERED_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'scope',
  'user_id',
  'app_id',
  'workflow_id',
  'chat_id',
  'max_tokens',
] as const;

export const LaunchTokenClaims = z.looseObject({
  iss: z.string().min(1),
  aud: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  exp: z.number(),
  nbf: z.number().optional(),
  iat: z.number().optional(),
  /** `workflow:execute`, alone or in a space-separated list of scopes. */
  scope: z.string().refine((s) => s.split(' ').includes(EXECUTE_SCOPE), {
    message: `must include "${EXECUTE_SCOPE}"`,
  }),
  user_id: Id,
  app_id: Id,
  workflow_id: Id,
  chat_id: Id,
  /** Advisory: reported with usage, never enforced. */
  max_tokens: z.number().int().positive().optional(),
});
export type LaunchTokenClaims = z.infer<typeof LaunchTokenClaims>;

/** The claims of a token as the runtime uses them after verification. */
export interface LaunchContext {
  app_id: string;
  user_id: string;
  workflow_id: string;
  chat_id: string;
  max_tokens?: number;
  /** Custom claims, passed to the workflow as its context. */
  custom: Record<string, unknown>;
  /** The token's `exp`, in seconds since the epoch. */
  expires_at: number;
}

/** Splits verified claims into the ids the runtime reads and the custom claims it passes on. */
export function toLaunchContext(claims: LaunchTokenClaims): LaunchContext {
  const custom: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(claims)) {
    if (!(REGISTERED_CLAIMS as readonly string[]).includes(key)) custom[key] = value;
  }
  return {
    app_id: claims.app_id,
    user_id: claims.user_id,
    workflow_id: claims.workflow_id,
    chat_id: claims.chat_id,
    ...(claims.max_tokens === undefined ? {} : { max_tokens: claims.max_tokens }),
    custom,
    expires_at: claims.exp,
  };
}
