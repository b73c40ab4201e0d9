// Launch tokens for tests: valid ones as a control plane mints them, and every kind of bad one.
import { SignJWT } from 'jose';
import type { CryptoKey, KeyObject } from 'jose';

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
export const TEST_ISSUER = 'your-control-plane.com';
export const TEST_AUDIENCE = 'mozaiks-runtime';

export interface MintOptions {
  /** Claims to set or override; `undefined` removes a claim. */
  claims?: Record<string, unknown>;
  /** @default 'HS256' */
  alg?: string;
  /** Secret (HS*) or private key (RS*, ES*). @default TEST_SECRET */
  key?: string | Uint8Array | CryptoKey | KeyObject;
  /** Seconds until `exp`, negative for an expired token. @default 3600 */
  expiresIn?: number;
}

/** The guide's example claims, with a fresh `exp`. */
export function guideClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    exp: Math.floor(Date.now() / 1000) + 3600,
    scope: 'workflow:execute',
    user_id: 'user_123',
    app_id: 'app_456',
    workflow_id: 'onboarding_flow',
    chat_id: 'chat_789',
    max_tokens: 50000,
    ...overrides,
  };
}

export async function mintToken(options: MintOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = guideClaims({
    exp: Math.floor(Date.now() / 1000) + (options.expiresIn ?? 3600),
    ...options.claims,
  });
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  const key = options.key ?? TEST_SECRET;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .sign(typeof key === 'string' ? new TextEncoder().encode(key) : key);
}

/**
 * A control plane's own token for the API over chats: the guide's issuer, audience and app, scope
 * `chats:admin`, no user or chat. `claims` set or override (`app_id`, `sub`, `scope`…).
 */
export function mintAdminToken(options: MintOptions = {}): Promise<string> {
  return mintToken({
    ...options,
    claims: {
      scope: 'chats:admin',
      sub: 'control-plane',
      user_id: undefined,
      workflow_id: undefined,
      chat_id: undefined,
      max_tokens: undefined,
      ...options.claims,
    },
  });
}

/** A token with `alg: none` and no signature: must never be accepted. */
export function unsignedToken(claims: Record<string, unknown> = guideClaims()): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}
