// Configuration: defaults, .env under the real environment, the guide's names, every problem listed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadRuntimeConfig } from './runtime-config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadRuntimeConfig(env, undefined);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadRuntimeConfig', () => {
  it('runs on defaults with nothing set', () => {
    expect(loadRuntimeConfig({}, undefined)).toMatchObject({
      PORT: 8000,
      HOST: '0.0.0.0',
      DEFAULT_MODEL: 'gpt-4o-mini',
      WORKFLOWS_DIR: './workflows',
      DATA_DIR: './.data',
      JWT_AUDIENCE: 'mozaiks-runtime',
      CONTEXT_AWARE: false,
      MONETIZATION_ENABLED: true,
      LOG_LEVEL: 'info',
      MONGODB_DATABASE: 'mozaiks_runtime',
      SUBJECT_PREFIX: 'mozaiks',
      MODEL_PRICES: {},
    });
  });

  it("reads the guide's .env as written, with the real environment winning", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mozaiks-config-'));
    try {
      const file = path.join(dir, '.env');
      writeFileSync(
        file,
        [
          '# LLM Configuration',
          'OPENAI_API_KEY=sk-from-file',
          'DEFAULT_MODEL=gpt-4',
          '',
          '# Database',
          'MONGODB_URI=mongodb://localhost:27017',
          'MONGODB_DATABASE=mozaiks_runtime',
          '',
          'JWT_SECRET=your-jwt-secret-key',
          'JWT_ISSUER=your-control-plane.com',
          'JWT_AUDIENCE=mozaiks-runtime',
          '',
          'CONTEXT_AWARE=false',
          'MONETIZATION_ENABLED=true',
          'LOG_LEVEL=INFO',
          'PORT=',
        ].join('\n'),
      );
      const config = loadRuntimeConfig({ DEFAULT_MODEL: 'gpt-4o' }, file);
      expect(config).toMatchObject({
        OPENAI_API_KEY: 'sk-from-file',
        DEFAULT_MODEL: 'gpt-4o',
        MONGODB_URI: 'mongodb://localhost:27017',
        JWT_SECRET: 'your-jwt-secret-key',
        JWT_ISSUER: 'your-control-plane.com',
        CONTEXT_AWARE: false,
        MONETIZATION_ENABLED: true,
        LOG_LEVEL: 'info',
        PORT: 8000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes the base URL from OPENAI_API_BASE or the SDK's OPENAI_BASE_URL", () => {
    expect(loadRuntimeConfig({ OPENAI_API_BASE: 'http://llm:1/v1' }, undefined).OPENAI_API_BASE).toBe(
      'http://llm:1/v1',
    );
    expect(loadRuntimeConfig({ OPENAI_BASE_URL: 'http://llm:2/v1' }, undefined).OPENAI_API_BASE).toBe(
      'http://llm:2/v1',
    );
    expect(problemsOf({ OPENAI_API_BASE: 'http://a/v1', OPENAI_BASE_URL: 'http://b/v1' })).toEqual([
      'OPENAI_API_BASE: differs from OPENAI_BASE_URL; set one of them',
    ]);
  });

  it('parses booleans as words, not as any non-empty string', () => {
    expect(loadRuntimeConfig({ MONETIZATION_ENABLED: 'false', CONTEXT_AWARE: 'yes' }, undefined)).toMatchObject({
      MONETIZATION_ENABLED: false,
      CONTEXT_AWARE: true,
    });
    expect(problemsOf({ CONTEXT_AWARE: 'maybe' })).toEqual([expect.stringMatching(/^CONTEXT_AWARE: /)]);
  });

  it('reads prices and algorithms, and unescapes a one-line PEM', () => {
    const config = loadRuntimeConfig(
      {
        MODEL_PRICES: '{"local-llama": {"prompt": 0.1, "completion": 0.2}}',
        JWT_ALGORITHMS: 'ES256',
        JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----',
      },
      undefined,
    );
    expect(config.MODEL_PRICES).toEqual({ 'local-llama': { prompt: 0.1, completion: 0.2 } });
    expect(config.JWT_ALGORITHMS).toEqual(['ES256']);
    expect(config.JWT_PUBLIC_KEY).toBe('-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----');
  });

  it('reads the distributed settings and checks NATS_URL', () => {
    expect(
      loadRuntimeConfig({ NATS_URL: 'nats://a:4222,nats://b:4222', CHAT_LEASE_SECONDS: '5' }, undefined),
    ).toMatchObject({
      NATS_URL: 'nats://a:4222,nats://b:4222',
      CHAT_LEASE_SECONDS: 5,
      RUN_ACK_WAIT_SECONDS: 30,
      SHUTDOWN_GRACE_SECONDS: 25,
      EXECUTOR_CONCURRENCY: 5000,
    });
    expect(problemsOf({ NATS_URL: 'localhost:4222' })).toEqual(['NATS_URL: must be nats:// URLs, comma-separated']);
  });

  it('reads billing webhooks: several URLs, a whsec_ secret they need, and billing on', () => {
    const secret = `whsec_${Buffer.from('x'.repeat(32)).toString('base64')}`;
    const config = loadRuntimeConfig(
      { USAGE_WEBHOOK_URL: 'https://a.example/hook, http://b.example:8080/u?k=1', USAGE_WEBHOOK_SECRET: secret },
      undefined,
    );
    expect(config.USAGE_WEBHOOK_URL).toEqual(['https://a.example/hook', 'http://b.example:8080/u?k=1']);
    expect([
      config.USAGE_WEBHOOK_TIMEOUT_SECONDS,
      config.USAGE_WEBHOOK_CONCURRENCY,
      config.USAGE_WEBHOOK_BACKOFF_MAX_SECONDS,
      config.USAGE_WEBHOOK_RETRY_HOURS,
    ]).toEqual([10, 8, 300, 72]);
    expect(loadRuntimeConfig({}, undefined).USAGE_WEBHOOK_URL).toEqual([]);
    expect(problemsOf({ USAGE_WEBHOOK_URL: 'https://a.example/hook' })).toEqual([
      expect.stringMatching(/^USAGE_WEBHOOK_SECRET: is required with USAGE_WEBHOOK_URL/),
    ]);
    expect(
      problemsOf({
        USAGE_WEBHOOK_URL: 'ftp://a.example/x',
        USAGE_WEBHOOK_SECRET: 'whsec_short',
        USAGE_WEBHOOK_RETRY_HOURS: '2',
      }),
    ).toEqual([
      expect.stringMatching(
        /^USAGE_WEBHOOK_URL: must be http\(s\) URLs, comma-separated \(got "ftp:\/\/a.example\/x"\)/,
      ),
      expect.stringMatching(/^USAGE_WEBHOOK_SECRET: must be whsec_ followed by the base64 of at least 24 random bytes/),
      expect.stringMatching(/^USAGE_WEBHOOK_RETRY_HOURS: must be at least 24/),
    ]);
    expect(
      problemsOf({
        USAGE_WEBHOOK_URL: 'https://a.example/hook',
        USAGE_WEBHOOK_SECRET: secret,
        MONETIZATION_ENABLED: 'false',
      }),
    ).toEqual([expect.stringMatching(/^USAGE_WEBHOOK_URL: needs MONETIZATION_ENABLED=true/)]);
  });

  it('lists every problem at once', () => {
    expect(
      problemsOf({
        PORT: '70000',
        LOG_LEVEL: 'chatty',
        MODEL_PRICES: '{"m": 1}',
        JWT_ALGORITHMS: 'HS256,none',
        JWT_PUBLIC_KEY: 'ssh-rsa AAAA',
        SUBJECT_PREFIX: 'a.b',
      }),
    ).toEqual([
      'PORT: Too big: expected number to be <=65535',
      expect.stringMatching(/^MODEL_PRICES: must map model names/),
      'JWT_PUBLIC_KEY: must be a PEM public key starting with -----BEGIN PUBLIC KEY-----',
      expect.stringMatching(/^JWT_ALGORITHMS: unsupported algorithm\(s\) none/),
      expect.stringMatching(/^LOG_LEVEL: must be one of/),
      expect.stringMatching(/^SUBJECT_PREFIX: must be one subject token/),
      'JWT_ALGORITHMS: HS256 needs JWT_SECRET',
    ]);
  });
});
