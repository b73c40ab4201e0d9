// `mozaiks token`: a launch token signed with the runtime's own HS256 secret, for trying a
// deployment (compose, a Helm release) without a control plane. Production tokens come from the
// control plane; this signs what it would.
import { randomUUID } from 'node:crypto';
import { signLaunchToken } from '@mozaiks/auth';
import { ConfigError, loadRuntimeConfig } from '@mozaiks/config';
import { UsageError, parseFlags } from './flags.js';

/** The token for `args`, signed with JWT_SECRET for JWT_ISSUER and JWT_AUDIENCE. */
export async function mintDevToken(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const values = parseFlags(args, {
    workflow: { type: 'string', default: 'hello' },
    app: { type: 'string', default: 'dev_app' },
    user: { type: 'string', default: 'dev_user' },
    chat: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
  });
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new UsageError(`--ttl: must be a whole number of seconds, got "${values.ttl}"`);
  const config = loadRuntimeConfig(env);
  if (!config.JWT_SECRET) throw new ConfigError(['JWT_SECRET: required to sign a token (tokens for JWT_PUBLIC_KEY or JWT_JWKS_URL come from the control plane that holds the private key)']);
  return signLaunchToken(
    { user_id: values.user, app_id: values.app, workflow_id: values.workflow, chat_id: values.chat ?? `chat_${randomUUID().slice(0, 8)}` },
    { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER ?? 'mozaiks-dev', audience: config.JWT_AUDIENCE, expiresInSeconds: ttl },
  );
}
