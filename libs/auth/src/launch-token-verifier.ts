// Verifies launch tokens: signature with pinned algorithms, standard claims, scope, lifetime and
// the ids the runtime needs. Anything else in the token is a custom claim for the workflow. The
// control plane's tokens for the API over chats (`chats:admin`, one app) are checked the same way
// up to their claims. Keys come from a shared secret, a PEM public key, or the control plane's
// JWKS (fetched and cached by jose, refetched for a `kid` it does not know, at most once per
// cool-down).
import { createPublicKey } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, importSPKI, jwtVerify } from 'jose';
import type { CryptoKey, FlattenedJWSInput, JWTHeaderParameters } from 'jose';
import {
  ADMIN_SCOPE,
  AdminTokenClaims,
  ErrorCode,
  LaunchTokenClaims,
  RuntimeError,
  describeIssues,
  hasScope,
  toLaunchContext,
} from '@mozaiks/protocol';
import type { AdminCaller, LaunchContext } from '@mozaiks/protocol';

export type VerifyAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

export interface LaunchTokenVerifierOptions {
  /** Shared secret for HMAC tokens (HS256). */
  secret?: string;
  /** PEM (SPKI) public key for RSA, EC or Ed25519 tokens (RS256, ES256, EdDSA). */
  publicKey?: string;
  /** URL of a JSON Web Key Set; each key's type (and `alg`, when it has one) decides what it verifies. */
  jwksUrl?: string;
  /**
   * Algorithms a token may use. @default HS256 with a secret; RS256, ES256 or EdDSA (by key type)
   * with a public key; RS256, ES256 and EdDSA with a JWKS
   */
  algorithms?: readonly VerifyAlgorithm[];
  /** Longest `exp - iat` and `exp - now` accepted, in seconds. @default no limit */
  maxLifetimeSeconds?: number;
  /** Least time between two fetches of the JWKS for an unknown `kid`. @default 30000 */
  jwksCooldownMs?: number;
  /** Required `iss`; when unset any issuer is accepted, but `iss` must still be present. */
  issuer?: string;
  /** Required `aud`. */
  audience: string;
  /** Leeway for `exp`, `nbf` and `iat` (one issued in the future is refused), in seconds. @default 5 */
  clockToleranceSeconds?: number;
}

/** A token whose scope does not allow what it was sent for (HTTP 403 `insufficient_scope`). */
export class ScopeError extends Error {
  override name = 'ScopeError';
  readonly code = 'insufficient_scope';
}

/** A refused launch token; `message` says why and is safe to show the client. */
export class LaunchTokenError extends RuntimeError {
  override name = 'LaunchTokenError';
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.Unauthorized, message, { cause });
  }
}

export class LaunchTokenVerifier {
  readonly algorithms: readonly VerifyAlgorithm[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. */
  private readonly clockTolerance: number;
  private readonly secret: Uint8Array | undefined;
  private readonly publicKeys = new Map<string, Promise<CryptoKey>>();
  private readonly jwks: ((header: JWTHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>) | undefined;

  constructor(private readonly options: LaunchTokenVerifierOptions) {
    if (!options.secret && !options.publicKey && !options.jwksUrl)
      throw new Error('a launch-token secret, public key or JWKS URL is required');
    if (options.publicKey && options.jwksUrl) throw new Error('give a public key or a JWKS URL, not both');
    this.secret = options.secret ? new TextEncoder().encode(options.secret) : undefined;
    this.jwks = options.jwksUrl
      ? createRemoteJWKSet(new URL(options.jwksUrl), {
          cooldownDuration: options.jwksCooldownMs ?? 30_000,
          cacheMaxAge: 10 * 60_000,
        })
      : undefined;
    this.algorithms = options.algorithms ?? defaultAlgorithms(options);
    this.clockTolerance = options.clockToleranceSeconds ?? 5;
    for (const alg of this.algorithms) {
      if (alg.startsWith('HS') && !options.secret) throw new Error(`${alg} needs a secret`);
      if (!alg.startsWith('HS') && !options.publicKey && !options.jwksUrl)
        throw new Error(`${alg} needs a public key or a JWKS URL`);
    }
  }

  /**
   * Verifies `token` and returns its ids, custom claims and expiry.
   * @throws LaunchTokenError saying why the token was refused.
   */
  async verify(token: string): Promise<LaunchContext> {
    const claims = LaunchTokenClaims.safeParse(await this.verifySigned(token));
    if (!claims.success) throw new LaunchTokenError(`invalid claims: ${describeIssues(claims.error)}`);
    this.checkTimes(claims.data);
    return toLaunchContext(claims.data);
  }

  /**
   * Verifies a control-plane token (the API over chats): signed, issued and timed as a launch
   * token, naming an `app_id`, its scope including `chats:admin`.
   * @throws LaunchTokenError (401) when it cannot be trusted; ScopeError (403) when it can but lacks the scope.
   */
  async verifyAdmin(token: string): Promise<AdminCaller> {
    const payload = await this.verifySigned(token);
    const claims = AdminTokenClaims.safeParse(payload);
    if (!claims.success) throw new LaunchTokenError(`invalid claims: ${describeIssues(claims.error)}`);
    this.checkTimes(claims.data);
    if (!hasScope(claims.data.scope, ADMIN_SCOPE))
      throw new ScopeError(`the token's scope does not include "${ADMIN_SCOPE}"`);
    const { app_id, sub, iss } = claims.data;
    return { app_id, iss, ...(sub === undefined ? {} : { sub }) };
  }

  /** The payload of a token whose signature, algorithm, `iss`, `aud` and `exp` hold. */
  private async verifySigned(token: string): Promise<unknown> {
    try {
      const { payload } = await jwtVerify(token, (header, jws) => this.keyFor(header, jws), {
        algorithms: [...this.algorithms],
        audience: this.options.audience,
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        requiredClaims: ['iss', 'aud', 'exp'],
        clockTolerance: this.clockTolerance,
      });
      return payload;
    } catch (error) {
      throw new LaunchTokenError(describeJoseError(error), error);
    }
  }

  /** Refuses an `iat` in the future and a life longer than `maxLifetimeSeconds`. */
  private checkTimes({ iat, exp }: { iat?: number | undefined; exp: number }): void {
    const now = Math.floor(Date.now() / 1000);
    // A token cannot be issued in the future: an `iat` past now (and the clock leeway) would let it
    // claim a short life while living long.
    if (iat !== undefined && iat > now + this.clockTolerance) throw new LaunchTokenError('invalid iat');
    const max = this.options.maxLifetimeSeconds;
    if (max !== undefined) {
      // Both spans are capped: from issue (an old token) and from now (one that lives on).
      const lifetime = Math.max(exp - (iat ?? now), exp - now);
      if (lifetime > max)
        throw new LaunchTokenError(`token lifetime of ${Math.round(lifetime)} s exceeds the ${max} s allowed`);
    }
  }

  private keyFor(header: JWTHeaderParameters, jws: FlattenedJWSInput): Uint8Array | Promise<CryptoKey> {
    // `algorithms` has already pinned header.alg, so an HS token never meets the public key.
    if (header.alg.startsWith('HS')) return this.secret!;
    // The set's key of the token's `kid` (or its only key), usable only with the algorithm its type
    // (and its own `alg`) allows: a token cannot choose how a key is used.
    if (this.jwks) return this.jwks(header, jws);
    let key = this.publicKeys.get(header.alg);
    if (!key) {
      key = importSPKI(this.options.publicKey!, header.alg);
      this.publicKeys.set(header.alg, key);
    }
    return key;
  }
}

function defaultAlgorithms(options: LaunchTokenVerifierOptions): VerifyAlgorithm[] {
  const algs: VerifyAlgorithm[] = [];
  if (options.secret) algs.push('HS256');
  if (options.jwksUrl) algs.push('RS256', 'ES256', 'EdDSA');
  if (options.publicKey) {
    const key = createPublicKey(options.publicKey);
    if (key.asymmetricKeyType === 'rsa') algs.push('RS256');
    else if (key.asymmetricKeyType === 'ec') {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      algs.push(curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256');
    } else if (key.asymmetricKeyType === 'ed25519') algs.push('EdDSA');
    else throw new Error(`unsupported public key type ${key.asymmetricKeyType}; use an RSA, EC or Ed25519 key`);
  }
  return algs;
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return 'no key of the key set matches the token (kid or algorithm)';
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid)
    return 'the key set could not be fetched';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid';
    if (error.reason === 'missing') return `missing required claim "${error.claim}"`;
    return `claim "${error.claim}" is not accepted`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'signing algorithm not allowed';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof joseErrors.JOSEError) return 'malformed token';
  return 'token could not be verified';
}
