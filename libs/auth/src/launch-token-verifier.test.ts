// Launch-token verification beyond the handshake matrix of e2e/: what passes through, what the
// defaults pin, and which configurations are refused outright.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { LaunchTokenError, LaunchTokenVerifier, ScopeError } from './launch-token-verifier';
import { signLaunchToken } from './sign-launch-token';

const SECRET = 'unit-secret-0123456789abcdef0123456789abcdef';
const base = {
  iss: 'cp',
  aud: 'mozaiks-runtime',
  scope: 'workflow:execute',
  user_id: 'u',
  app_id: 'a',
  workflow_id: 'w',
  chat_id: 'c',
};
const sign = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT({ exp: Math.floor(Date.now() / 1000) + 60, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));

describe('LaunchTokenVerifier', () => {
  const verifier = new LaunchTokenVerifier({ secret: SECRET, issuer: 'cp', audience: 'mozaiks-runtime' });

  it('returns the ids, the advisory max_tokens and every custom claim', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const launch = await verifier.verify(await sign({ ...base, exp, max_tokens: 500, plan: 'pro', org: { id: 7 } }));
    expect(launch).toEqual({
      app_id: 'a',
      user_id: 'u',
      workflow_id: 'w',
      chat_id: 'c',
      max_tokens: 500,
      custom: { plan: 'pro', org: { id: 7 } },
      expires_at: exp,
    });
  });

  it('accepts workflow:execute within a space-separated scope list, and an audience list', async () => {
    await expect(
      verifier.verify(await sign({ ...base, scope: 'chat:read workflow:execute', aud: ['other', 'mozaiks-runtime'] })),
    ).resolves.toMatchObject({ chat_id: 'c' });
  });

  it('without a configured issuer accepts any, but still requires iss', async () => {
    const anyIssuer = new LaunchTokenVerifier({ secret: SECRET, audience: 'mozaiks-runtime' });
    await expect(anyIssuer.verify(await sign({ ...base, iss: 'elsewhere' }))).resolves.toMatchObject({ user_id: 'u' });
    const { iss: _iss, ...noIssuer } = base;
    await expect(anyIssuer.verify(await sign(noIssuer))).rejects.toThrow('missing required claim "iss"');
  });

  it('refuses with a LaunchTokenError carrying the unauthorized code', async () => {
    const failure = verifier.verify(await sign(base, 'wrong-secret-0123456789abcdef0123456789ab'));
    await expect(failure).rejects.toBeInstanceOf(LaunchTokenError);
    await expect(failure).rejects.toMatchObject({
      code: 'unauthorized',
      retryable: false,
      message: 'signature verification failed',
    });
  });

  it('pins algorithms by key type', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    expect(new LaunchTokenVerifier({ secret: SECRET, audience: 'x' }).algorithms).toEqual(['HS256']);
    expect(new LaunchTokenVerifier({ publicKey: rsa, audience: 'x' }).algorithms).toEqual(['RS256']);
    expect(new LaunchTokenVerifier({ publicKey: ec384, audience: 'x' }).algorithms).toEqual(['ES384']);
    expect(new LaunchTokenVerifier({ secret: SECRET, publicKey: rsa, audience: 'x' }).algorithms).toEqual([
      'HS256',
      'RS256',
    ]);
  });

  it('refuses a configuration that cannot verify anything', () => {
    expect(() => new LaunchTokenVerifier({ audience: 'x' })).toThrow(
      'a launch-token secret, public key or JWKS URL is required',
    );
    expect(() => new LaunchTokenVerifier({ secret: SECRET, algorithms: ['RS256'], audience: 'x' })).toThrow(
      'RS256 needs a public key',
    );
  });

  it('verifies the tokens it signs for development', async () => {
    const token = await signLaunchToken(
      { user_id: 'dev', app_id: 'a', workflow_id: 'hello', chat_id: 'c1' },
      { secret: SECRET, issuer: 'cp', audience: 'mozaiks-runtime', expiresInSeconds: 60 },
    );
    await expect(verifier.verify(token)).resolves.toMatchObject({ user_id: 'dev', workflow_id: 'hello', custom: {} });
  });
});

describe('a control-plane token (chats:admin)', () => {
  const verifier = new LaunchTokenVerifier({
    secret: SECRET,
    issuer: 'cp',
    audience: 'mozaiks-runtime',
    maxLifetimeSeconds: 300,
  });
  const admin = { iss: 'cp', aud: 'mozaiks-runtime', sub: 'support-desk', scope: 'chats:admin', app_id: 'a' };

  it('names the app every call is confined to, and who called', async () => {
    await expect(verifier.verifyAdmin(await sign(admin))).resolves.toEqual({
      app_id: 'a',
      sub: 'support-desk',
      iss: 'cp',
    });
    await expect(
      verifier.verifyAdmin(await sign({ ...admin, scope: 'chats:read chats:admin' })),
    ).resolves.toMatchObject({
      app_id: 'a',
    });
  });

  it('refuses a launch token with insufficient_scope, and one that cannot be trusted as unauthorized', async () => {
    const launch = verifier.verifyAdmin(await sign(base));
    await expect(launch).rejects.toThrow(ScopeError);
    await expect(launch).rejects.toMatchObject({ code: 'insufficient_scope' });
    const expired = verifier.verifyAdmin(await sign({ ...admin, exp: Math.floor(Date.now() / 1000) - 60 }));
    await expect(expired).rejects.toMatchObject({ code: 'unauthorized', message: 'token expired' });
    const noApp = verifier.verifyAdmin(await sign({ ...admin, app_id: undefined }));
    await expect(noApp).rejects.toThrow(/invalid claims: app_id/);
    const tooLong = verifier.verifyAdmin(await sign({ ...admin, exp: Math.floor(Date.now() / 1000) + 3600 }));
    await expect(tooLong).rejects.toThrow(/exceeds the 300 s allowed/);
    await expect(verifier.verifyAdmin(await sign(admin, 'another-secret-0123456789abcdef0123'))).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'signature verification failed',
    });
  });
});

describe('LaunchTokenVerifier with a JWKS', () => {
  /** A control plane's key set on real HTTP, whose keys can rotate; counts its fetches. */
  async function keySet() {
    const { createServer } = await import('node:http');
    const { exportJWK } = await import('jose');
    const keys: Array<{ kid: string; privateKey: import('node:crypto').KeyObject; jwk: Record<string, unknown> }> = [];
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const add = async (kid: string, type: 'rsa' | 'ec' | 'ed25519') => {
      const pair =
        type === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : type === 'ec'
            ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
            : generateKeyPairSync('ed25519');
      keys.push({ kid, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid } });
    };
    const token = (
      kid: string,
      alg: string,
      claims: Record<string, unknown> = {},
      key = keys.find((k) => k.kid === kid)!.privateKey,
    ) =>
      new SignJWT({ exp: Math.floor(Date.now() / 1000) + 60, ...base, ...claims })
        .setProtectedHeader({ alg, kid })
        .sign(key);
    const url = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}/.well-known/jwks.json`;
    return {
      url,
      add,
      token,
      keys,
      fetches: () => fetches,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  }

  it('verifies RS256, ES256 and EdDSA tokens by their key, and picks up a rotated key without a restart', async () => {
    const set = await keySet();
    try {
      await set.add('rsa-1', 'rsa');
      await set.add('ec-1', 'ec');
      await set.add('ed-1', 'ed25519');
      const verifier = new LaunchTokenVerifier({
        jwksUrl: set.url,
        issuer: 'cp',
        audience: 'mozaiks-runtime',
        jwksCooldownMs: 0,
      });
      expect(verifier.algorithms).toEqual(['RS256', 'ES256', 'EdDSA']);
      for (const [kid, alg] of [
        ['rsa-1', 'RS256'],
        ['ec-1', 'ES256'],
        ['ed-1', 'EdDSA'],
      ]) {
        await expect(verifier.verify(await set.token(kid!, alg!))).resolves.toMatchObject({ chat_id: 'c' });
      }
      // The control plane rotates: a token signed with the new key verifies at once.
      await set.add('rsa-2', 'rsa');
      await expect(verifier.verify(await set.token('rsa-2', 'RS256'))).resolves.toMatchObject({ user_id: 'u' });
    } finally {
      await set.close();
    }
  });

  it('lets the key, never the token, choose the algorithm', async () => {
    const set = await keySet();
    try {
      await set.add('rsa-1', 'rsa');
      const verifier = new LaunchTokenVerifier({ jwksUrl: set.url, issuer: 'cp', audience: 'mozaiks-runtime' });
      // An RSA key's kid in a token that claims PS256 or HS256 (a key-confusion attempt) is refused.
      await expect(verifier.verify(await set.token('rsa-1', 'PS256'))).rejects.toThrow('signing algorithm not allowed');
      const forged = await new SignJWT({ exp: Math.floor(Date.now() / 1000) + 60, ...base })
        .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
        .sign(new TextEncoder().encode(JSON.stringify(set.keys[0]!.jwk)));
      await expect(verifier.verify(forged)).rejects.toBeInstanceOf(LaunchTokenError);
    } finally {
      await set.close();
    }
  });

  it('does not let unknown kids hammer the key set: one fetch per cool-down', async () => {
    const set = await keySet();
    try {
      await set.add('rsa-1', 'rsa');
      const verifier = new LaunchTokenVerifier({
        jwksUrl: set.url,
        issuer: 'cp',
        audience: 'mozaiks-runtime',
        jwksCooldownMs: 60_000,
      });
      await verifier.verify(await set.token('rsa-1', 'RS256'));
      const before = set.fetches();
      for (let i = 0; i < 20; i++) {
        await expect(
          verifier.verify(await set.token(`random-${i}`, 'RS256', {}, set.keys[0]!.privateKey)),
        ).rejects.toThrow('no key of the key set matches the token');
      }
      expect(set.fetches() - before).toBeLessThanOrEqual(1);
    } finally {
      await set.close();
    }
  });
});

describe('JWT_MAX_LIFETIME_SECONDS', () => {
  const verifier = new LaunchTokenVerifier({
    secret: SECRET,
    issuer: 'cp',
    audience: 'mozaiks-runtime',
    maxLifetimeSeconds: 3600,
  });
  const now = Math.floor(Date.now() / 1000);

  it('refuses a token that lives longer than allowed, from iat or, without it, from now', async () => {
    await expect(verifier.verify(await sign({ ...base, iat: now, exp: now + 3500 }))).resolves.toMatchObject({
      chat_id: 'c',
    });
    await expect(verifier.verify(await sign({ ...base, iat: now, exp: now + 7200 }))).rejects.toThrow(
      'token lifetime of 7200 s exceeds the 3600 s allowed',
    );
    await expect(verifier.verify(await sign({ ...base, exp: now + 7200 }))).rejects.toThrow(
      /token lifetime of 7\d{3} s exceeds/,
    );
    // An old iat with a short remaining life is still too long a token.
    await expect(verifier.verify(await sign({ ...base, iat: now - 7000, exp: now + 60 }))).rejects.toThrow(
      'exceeds the 3600 s allowed',
    );
  });

  it('refuses an iat in the future, so a far exp cannot hide behind it', async () => {
    const tenYears = now + 10 * 365 * 86400;
    await expect(verifier.verify(await sign({ ...base, exp: tenYears }))).rejects.toThrow('exceeds the 3600 s allowed');
    // exp - iat is 60 s, but the token lives ten years from now.
    await expect(verifier.verify(await sign({ ...base, iat: tenYears - 60, exp: tenYears }))).rejects.toThrow(
      'invalid iat',
    );
    // A clock a little ahead is within the leeway; a token issued now but living past the cap is not.
    await expect(verifier.verify(await sign({ ...base, iat: now + 3, exp: now + 600 }))).resolves.toMatchObject({
      chat_id: 'c',
    });
    await expect(verifier.verify(await sign({ ...base, iat: now + 4, exp: now + 4000 }))).rejects.toThrow(
      'exceeds the 3600 s allowed',
    );
  });

  it('refuses a future iat even with no lifetime cap', async () => {
    const uncapped = new LaunchTokenVerifier({ secret: SECRET, issuer: 'cp', audience: 'mozaiks-runtime' });
    await expect(uncapped.verify(await sign({ ...base, iat: now + 600, exp: now + 900 }))).rejects.toMatchObject({
      code: 'unauthorized',
      message: 'invalid iat',
    });
  });
});

describe('an Ed25519 public key', () => {
  it('verifies EdDSA tokens, and only those', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const verifier = new LaunchTokenVerifier({
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      issuer: 'cp',
      audience: 'mozaiks-runtime',
    });
    expect(verifier.algorithms).toEqual(['EdDSA']);
    const token = await new SignJWT({ exp: Math.floor(Date.now() / 1000) + 60, ...base })
      .setProtectedHeader({ alg: 'EdDSA' })
      .sign(privateKey);
    await expect(verifier.verify(token)).resolves.toMatchObject({ workflow_id: 'w' });
    await expect(verifier.verify(await sign(base))).rejects.toThrow('signing algorithm not allowed');
  });
});
