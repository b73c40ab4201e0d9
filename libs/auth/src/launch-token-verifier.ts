// Verifies launch tokens: signature with pinned algorithms, standard claims, scope and the ids the
// runtime needs. Anything else in the token is a custom claim for the workflow.
import { createPublicKey } from 'node:crypto';
import { errors as joseErrors, importSPKI, jwtVerify } from 'jose';
import type { CryptoKey, JWTHeaderParameters } from 'jose';
import { ErrorCode, LaunchTokenClaims, RuntimeError, describeIssues, toLaunchContext } from '@mozaiks/protocol';
import type { LaunchContext } from '@mozaiks/protocol';

export type VerifyAlgorithm =
  | 'HS256' | 'HS384' | 'HS512' | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

export interface LaunchTokenVerifierOptions {
  /** Shared secret for HMAC tokens (HS256). */
  secret?: string;
  /** PEM (SPKI) public key for RSA or EC tokens (RS256, ES256). */
  publicKey?: string;
  /** Algorithms a token may use. @default HS256 with a secret, RS256 or ES256 (by key type) with a public key */
  algorithms?: readonly VerifyAlgorithm[];
  /** Required `iss`; when unset any issuer is accepted, but `iss` must still be present. */
  issuer?: string;
  /** Required `aud`. */
  audience: string;
  /** Leeway for `exp` and `nbf`, in seconds. @default 5 */
  clockToleranceSeconds?: number;
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
  private readonly secret: Uint8Array | undefined;
  private readonly publicKeys = new Map<string, Promise<CryptoKey>>();

  constructor(private readonly options: LaunchTokenVerifierOptions) {
    if (!options.secret && !options.publicKey) throw new Error('a launch-token secret or public key is required');
    this.secret = options.secret ? new TextEncoder().encode(options.secret) : undefined;
    this.algorithms = options.algorithms ?? defaultAlgorithms(options);
    for (const alg of this.algorithms) {
      if (alg.startsWith('HS') && !options.secret) throw new Error(`${alg} needs a secret`);
      if (!alg.startsWith('HS') && !options.publicKey) throw new Error(`${alg} needs a public key`);
    }
  }

  /**
   * Verifies `token` and returns its ids and custom claims.
   * @throws LaunchTokenError saying why the token was refused.
   */
  async verify(token: string): Promise<LaunchContext> {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.keyFor(header), {
        algorithms: [...this.algorithms],
        audience: this.options.audience,
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        requiredClaims: ['iss', 'aud', 'exp'],
        clockTolerance: this.options.clockToleranceSeconds ?? 5,
      }));
    } catch (error) {
      throw new LaunchTokenError(describeJoseError(error), error);
    }
    const claims = LaunchTokenClaims.safeParse(payload);
    if (!claims.success) throw new LaunchTokenError(`invalid claims: ${describeIssues(claims.error)}`);
    return toLaunchContext(claims.data);
  }

  private keyFor(header: JWTHeaderParameters): Uint8Array | Promise<CryptoKey> {
    // `algorithms` has already pinned header.alg, so an HS token never meets the public key.
    if (header.alg.startsWith('HS')) return this.secret!;
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
  if (options.publicKey) {
    const key = createPublicKey(options.publicKey);
    if (key.asymmetricKeyType === 'rsa') algs.push('RS256');
    else if (key.asymmetricKeyType === 'ec') {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      algs.push(curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256');
    } else throw new Error(`unsupported public key type ${key.asymmetricKeyType}; use an RSA or EC key`);
  }
  return algs;
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'token expired';
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
