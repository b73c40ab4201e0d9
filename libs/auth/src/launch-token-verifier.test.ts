// Launch-token verification beyond the handshake matrix of e2e/: what passes through, what the
// defaults pin, and which configurations are refused outright.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { LaunchTokenError, LaunchTokenVerifier } from './launch-token-verifier';
import { signLaunchToken } from './sign-launch-token';

const SECRET = 'unit-secret-0123456789abcdef0123456789abcdef';
const base = { iss: 'cp', aud: 'mozaiks-runtime', scope: 'workflow:execute', user_id: 'u', app_id: 'a', workflow_id: 'w', chat_id: 'c' };
const sign = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT({ exp: Math.floor(Date.now() / 1000) + 60, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));

describe('LaunchTokenVerifier', () => {
  const verifier = new LaunchTokenVerifier({ secret: SECRET, issuer: 'cp', audience: 'mozaiks-runtime' });

  it('returns the ids, the advisory max_tokens and every custom claim', async () => {
    const launch = await verifier.verify(await sign({ ...base, max_tokens: 500, plan: 'pro', org: { id: 7 } }));
    expect(launch).toEqual({ app_id: 'a', user_id: 'u', workflow_id: 'w', chat_id: 'c', max_tokens: 500, custom: { plan: 'pro', org: { id: 7 } } });
  });

  it('accepts workflow:execute within a space-separated scope list, and an audience list', async () => {
    await expect(verifier.verify(await sign({ ...base, scope: 'chat:read workflow:execute', aud: ['other', 'mozaiks-runtime'] }))).resolves.toMatchObject({ chat_id: 'c' });
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
    await expect(failure).rejects.toMatchObject({ code: 'unauthorized', retryable: false, message: 'signature verification failed' });
  });

  it('pins algorithms by key type', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(new LaunchTokenVerifier({ secret: SECRET, audience: 'x' }).algorithms).toEqual(['HS256']);
    expect(new LaunchTokenVerifier({ publicKey: rsa, audience: 'x' }).algorithms).toEqual(['RS256']);
    expect(new LaunchTokenVerifier({ publicKey: ec384, audience: 'x' }).algorithms).toEqual(['ES384']);
    expect(new LaunchTokenVerifier({ secret: SECRET, publicKey: rsa, audience: 'x' }).algorithms).toEqual(['HS256', 'RS256']);
  });

  it('refuses a configuration that cannot verify anything', () => {
    expect(() => new LaunchTokenVerifier({ audience: 'x' })).toThrow('a launch-token secret or public key is required');
    expect(() => new LaunchTokenVerifier({ secret: SECRET, algorithms: ['RS256'], audience: 'x' })).toThrow('RS256 needs a public key');
  });

  it('verifies the tokens it signs for development', async () => {
    const token = await signLaunchToken({ user_id: 'dev', app_id: 'a', workflow_id: 'hello', chat_id: 'c1' }, { secret: SECRET, issuer: 'cp', audience: 'mozaiks-runtime', expiresInSeconds: 60 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ user_id: 'dev', workflow_id: 'hello', custom: {} });
  });
});
