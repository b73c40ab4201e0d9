// Reading the environment: `.env` under the real environment, empty values treated as unset.
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

export type Env = Record<string, string | undefined>;

/**
 * The effective environment: variables from `envFile` (when it exists) overridden by `env`.
 * Empty strings count as unset, as most `.env` templates leave optional values blank.
 */
export function readEnv(env: Env = process.env, envFile: string | undefined = '.env'): Env {
  const fromFile = envFile && existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  const merged: Env = { ...fromFile, ...env };
  for (const [key, value] of Object.entries(merged)) if (value === '') delete merged[key];
  return merged;
}
