// Signs HS256 launch tokens: what a control plane does, for the standalone runtime's dev token.
import { SignJWT } from 'jose';
import { EXECUTE_SCOPE } from '@mozaiks/protocol';

export interface DevTokenClaims {
  user_id: string;
  app_id: string;
  workflow_id: string;
  chat_id: string;
  [claim: string]: unknown;
}

/** Signs a launch token with `secret` (HS256) valid for `expiresInSeconds`. */
export async function signLaunchToken(
  claims: DevTokenClaims,
  options: { secret: string; issuer: string; audience: string; expiresInSeconds: number },
): Promise<string> {
  return new SignJWT({ scope: EXECUTE_SCOPE, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.expiresInSeconds)
    .sign(new TextEncoder().encode(options.secret));
}
