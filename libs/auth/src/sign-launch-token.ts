// Signs launch tokens, as a control plane does: HS256 with a secret, or with a private key (RS256,
// ES256, EdDSA), for the standalone runtime's dev token and `mozaiks token`.
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { EXECUTE_SCOPE } from '@mozaiks/protocol';

export interface DevTokenClaims {
  user_id: string;
  app_id: string;
  workflow_id: string;
  chat_id: string;
  [claim: string]: unknown;
}

/** Signs a launch token with `secret` (HS256) or a PEM private key, valid for `expiresInSeconds`. */
export async function signLaunchToken(
  claims: DevTokenClaims,
  options: { issuer: string; audience: string; expiresInSeconds: number } & (
    { secret: string } | { privateKeyPem: string }
  ),
): Promise<string> {
  const jwt = new SignJWT({ scope: EXECUTE_SCOPE, ...claims })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.expiresInSeconds);
  if ('secret' in options)
    return jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(options.secret));
  // A PEM private key (PKCS#8): its type decides the algorithm, as the runtime's verifier does.
  const key = createPrivateKey(options.privateKeyPem);
  const alg =
    key.asymmetricKeyType === 'rsa'
      ? 'RS256'
      : key.asymmetricKeyType === 'ec'
        ? 'ES256'
        : key.asymmetricKeyType === 'ed25519'
          ? 'EdDSA'
          : undefined;
  if (!alg)
    throw new Error(
      `a ${key.asymmetricKeyType ?? 'unknown'} key cannot sign launch tokens: use an RSA, P-256 or Ed25519 key`,
    );
  return jwt.setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}
