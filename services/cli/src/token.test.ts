// `mozaiks token`: what it prints is a launch token the runtime accepts, for the claims asked.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { LaunchTokenVerifier } from '@mozaiks/auth';

const BIN = path.resolve(__dirname, '../bin/mozaiks.js');
const SECRET = 'a-deployment-secret-of-at-least-32-bytes!';

function run(args: string[], env: Record<string, string> = {}) {
  const { PATH, HOME } = process.env;
  return spawnSync(process.execPath, [BIN, 'token', ...args], {
    encoding: 'utf8',
    env: { PATH: PATH!, HOME: HOME!, ...env },
  });
}

it('prints a token the gateway verifies, with the workflow, tenant and chat asked for', async () => {
  const out = run(['--workflow', 'hello', '--app', 'acme', '--user', 'ada', '--chat', 'chat_1', '--ttl', '120'], {
    JWT_SECRET: SECRET,
    JWT_ISSUER: 'cp.example',
    JWT_AUDIENCE: 'rt',
  });
  expect(out.status).toBe(0);
  const verifier = new LaunchTokenVerifier({ secret: SECRET, issuer: 'cp.example', audience: 'rt' });
  const launch = await verifier.verify(out.stdout.trim());
  expect(launch).toMatchObject({ workflow_id: 'hello', app_id: 'acme', user_id: 'ada', chat_id: 'chat_1' });
  expect(launch.expires_at * 1000 - Date.now()).toBeLessThanOrEqual(121_000);
  expect(launch.expires_at * 1000 - Date.now()).toBeGreaterThan(100_000);
  await expect(
    new LaunchTokenVerifier({ secret: `${SECRET}x`, issuer: 'cp.example', audience: 'rt' }).verify(out.stdout.trim()),
  ).rejects.toThrow();
});

it('says what is missing instead of signing with nothing, and refuses a bad lifetime', () => {
  const noSecret = run([]);
  expect(noSecret.status).toBe(1);
  expect(noSecret.stderr).toContain('JWT_SECRET: required');
  expect(noSecret.stdout).toBe('');
  const badTtl = run(['--ttl', 'soon'], { JWT_SECRET: SECRET });
  expect(badTtl.status).toBe(2);
  expect(badTtl.stderr).toContain('--ttl: must be a whole number of seconds');
});

it('signs with a private key the runtime verifies with its public half, and carries custom claims', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(path.join(tmpdir(), 'mozaiks-token-'));
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyFile = path.join(dir, 'signing.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const out = run(
      [
        '--key',
        keyFile,
        '--claim',
        'plan=gold',
        '--claim',
        'seats=5',
        '--claim',
        'flags={"beta":true}',
        '--max-tokens',
        '5000',
      ],
      { JWT_ISSUER: 'cp.example' },
    );
    expect(out.stderr).toBe('');
    const verifier = new LaunchTokenVerifier({
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      issuer: 'cp.example',
      audience: 'mozaiks-runtime',
    });
    const launch = await verifier.verify(out.stdout.trim());
    expect(launch).toMatchObject({
      workflow_id: 'hello',
      max_tokens: 5000,
      custom: { plan: 'gold', seats: 5, flags: { beta: true } },
    });
    expect(run(['--claim', 'nope'], { JWT_SECRET: SECRET })).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('--claim: must be name=value'),
    });
    writeFileSync(keyFile, 'not a key');
    expect(run(['--key', keyFile])).toMatchObject({
      status: 2,
      stderr: expect.stringContaining('is not a private key'),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
