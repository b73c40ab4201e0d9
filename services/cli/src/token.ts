// `mozaiks token`: a launch token signed with the runtime's own HS256 secret, for trying a
// deployment (compose, a Helm release) without a control plane. Production tokens come from the
// control plane; this signs what it would.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signLaunchToken } from '@mozaiks/auth';
import { ConfigError, loadRuntimeConfig } from '@mozaiks/config';
import { UsageError, parseFlags } from './flags.js';
import { errorMessage } from '@mozaiks/common';

/** The token for `args`, signed with JWT_SECRET for JWT_ISSUER and JWT_AUDIENCE. */
export async function mintDevToken(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const values = parseFlags(args, {
    workflow: { type: 'string', default: 'hello' },
    app: { type: 'string', default: 'dev_app' },
    user: { type: 'string', default: 'dev_user' },
    chat: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
    'max-tokens': { type: 'string' },
    claim: { type: 'string', multiple: true },
    key: { type: 'string' },
  });
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0)
    throw new UsageError(`--ttl: must be a whole number of seconds, got "${values.ttl}"`);
  const maxTokens = values['max-tokens'] === undefined ? undefined : Number(values['max-tokens']);
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0))
    throw new UsageError(`--max-tokens: must be a whole number, got "${values['max-tokens']}"`);
  // Custom claims, `name=value`: a JSON value when it reads as one (3, true, {"a":1}), else text.
  const custom: Record<string, unknown> = {};
  for (const pair of values.claim ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--claim: must be name=value, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    try {
      custom[pair.slice(0, eq)] = JSON.parse(raw);
    } catch {
      custom[pair.slice(0, eq)] = raw;
    }
  }
  const config = loadRuntimeConfig(env);
  const claims = {
    ...custom,
    user_id: values.user,
    app_id: values.app,
    workflow_id: values.workflow,
    chat_id: values.chat ?? `chat_${randomUUID().slice(0, 8)}`,
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
  };
  const common = { issuer: config.JWT_ISSUER ?? 'mozaiks-dev', audience: config.JWT_AUDIENCE, expiresInSeconds: ttl };
  if (values.key) {
    // A private key beside JWT_PUBLIC_KEY (or the JWKS): what the control plane signs with.
    let pem: string;
    try {
      pem = readFileSync(values.key, 'utf8');
    } catch (error) {
      throw new UsageError(`--key: cannot read ${values.key} (${errorMessage(error)})`);
    }
    try {
      return await signLaunchToken(claims, { ...common, privateKeyPem: pem });
    } catch (error) {
      throw new UsageError(
        `--key: ${values.key} is not a private key that signs launch tokens (${errorMessage(error)})`,
      );
    }
  }
  if (!config.JWT_SECRET)
    throw new ConfigError([
      'JWT_SECRET: required to sign a token, or pass --key <private key PEM> (the half of JWT_PUBLIC_KEY)',
    ]);
  return signLaunchToken(claims, { ...common, secret: config.JWT_SECRET });
}
