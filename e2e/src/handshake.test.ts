// The WebSocket handshake refuses every token that is not valid for this runtime with HTTP 401,
// and a refused client never reaches an LLM.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { TEST_SECRET, WsTestClient, guideClaims, mintToken, unsignedToken } from '@mozaiks/testing';
import { startTestRuntime } from './harness';
import type { TestRuntime } from './harness';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecPublicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const now = () => Math.floor(Date.now() / 1000);

describe('handshake with a shared secret (HS256)', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime();
    t.llm.setFallback({ content: 'should never be called', usage: { prompt_tokens: 1, completion_tokens: 1 } });
  });
  afterAll(async () => t.stop());

  const refused: Array<[string, () => Promise<string | undefined>, RegExp]> = [
    ['no token', async () => undefined, /missing launch token/],
    ['garbage', async () => 'not-a-jwt', /malformed/],
    ['alg none', async () => unsignedToken(), /algorithm not allowed|malformed/],
    ['a bad signature', () => mintToken({ key: 'another-secret-0123456789abcdef0123456789' }), /signature/],
    ['an expired token', () => mintToken({ expiresIn: -3600 }), /expired/],
    ['a token not yet valid', () => mintToken({ claims: { nbf: now() + 3600 } }), /not yet valid/],
    ['the wrong issuer', () => mintToken({ claims: { iss: 'someone-else.com' } }), /"iss"/],
    ['the wrong audience', () => mintToken({ claims: { aud: 'another-service' } }), /"aud"/],
    ['the wrong scope', () => mintToken({ claims: { scope: 'workflow:read' } }), /scope/],
    ['no exp', () => mintToken({ claims: { exp: undefined } }), /"exp"/],
    ['no user_id', () => mintToken({ claims: { user_id: undefined } }), /user_id/],
    ['no app_id', () => mintToken({ claims: { app_id: undefined } }), /app_id/],
    ['no workflow_id', () => mintToken({ claims: { workflow_id: undefined } }), /workflow_id/],
    ['no chat_id', () => mintToken({ claims: { chat_id: undefined } }), /chat_id/],
    ['an id that is not a subject token', () => mintToken({ claims: { chat_id: 'a.b>' } }), /chat_id/],
    [
      'an RS256 token where only a secret is configured',
      () => mintToken({ alg: 'RS256', key: rsa.privateKey }),
      /algorithm not allowed/,
    ],
  ];

  it.each(refused)('refuses %s with 401 and a reason', async (_name, token, reason) => {
    const value = await token();
    const url = value === undefined ? t.wsUrl('').replace('?token=', '') : t.wsUrl(value);
    const { status, body } = await WsTestClient.handshakeStatus(url);
    expect(status).toBe(401);
    expect(JSON.parse(body)).toMatchObject({ error: 'unauthorized', message: expect.stringMatching(reason) });
  });

  it('never called the LLM for a refused client', () => {
    expect(t.llm.requests).toHaveLength(0);
  });

  it('accepts a valid token in the query, or as a Bearer Authorization header', async () => {
    const token = await mintToken();
    expect((await WsTestClient.handshakeStatus(t.wsUrl(token))).status).toBe(101);
    const bare = t.wsUrl('').replace('?token=', '');
    expect((await WsTestClient.handshakeStatus(bare, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      101,
    );
  });

  it('answers 404 for another path', async () => {
    const url = t.wsUrl(await mintToken()).replace('/ws/chat', '/ws/other');
    expect((await WsTestClient.handshakeStatus(url)).status).toBe(404);
  });
});

describe('handshake with a public key (RS256, ES256)', () => {
  it('accepts RS256 tokens and refuses an HS256 token signed with the public key', async () => {
    const t = await startTestRuntime({ env: { JWT_SECRET: '', JWT_PUBLIC_KEY: rsaPublicPem } });
    try {
      const good = await mintToken({ alg: 'RS256', key: rsa.privateKey });
      expect((await WsTestClient.handshakeStatus(t.wsUrl(good))).status).toBe(101);
      // The classic confusion attack: HMAC keyed with the public key's PEM text.
      const confused = await new SignJWT(guideClaims())
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(rsaPublicPem));
      const refused = await WsTestClient.handshakeStatus(t.wsUrl(confused));
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body).message).toMatch(/algorithm not allowed/);
      const withSecret = await mintToken({ key: TEST_SECRET });
      expect((await WsTestClient.handshakeStatus(t.wsUrl(withSecret))).status).toBe(401);
    } finally {
      await t.stop();
    }
  });

  it('accepts ES256 tokens with an EC key, passing `\\n`-escaped PEM from a .env line', async () => {
    const t = await startTestRuntime({ env: { JWT_SECRET: '', JWT_PUBLIC_KEY: ecPublicPem.replace(/\n/g, '\\n') } });
    try {
      const good = await mintToken({ alg: 'ES256', key: ec.privateKey });
      expect((await WsTestClient.handshakeStatus(t.wsUrl(good))).status).toBe(101);
      const wrongKey = await mintToken({
        alg: 'ES256',
        key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      });
      expect((await WsTestClient.handshakeStatus(t.wsUrl(wrongKey))).status).toBe(401);
    } finally {
      await t.stop();
    }
  });
});
