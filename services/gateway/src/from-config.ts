// The gateway's launch-token verifier as the configuration describes it.
import { LaunchTokenVerifier } from '@mozaiks/auth';
import type { RuntimeConfig } from '@mozaiks/config';

export function verifierFromConfig(config: RuntimeConfig): LaunchTokenVerifier {
  return new LaunchTokenVerifier({
    ...(config.JWT_SECRET ? { secret: config.JWT_SECRET } : {}),
    ...(config.JWT_PUBLIC_KEY ? { publicKey: config.JWT_PUBLIC_KEY } : {}),
    ...(config.JWT_ALGORITHMS ? { algorithms: config.JWT_ALGORITHMS } : {}),
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    audience: config.JWT_AUDIENCE,
  });
}
