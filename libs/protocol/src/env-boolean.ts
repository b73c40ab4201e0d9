// The one rule for a setting that is on or off, wherever it is read from the environment (the
// runtime's configuration, a context variable's env_var, tracing's opt-ins): zod's stringbool.
import { z } from 'zod';

/** true/1/yes/on/y/enabled and false/0/no/off/n/disabled, in any case. */
export const EnvBoolean = z.stringbool({ error: 'must be true or false (or 1/0, yes/no, on/off)' });

/** `text` as a boolean by that rule; undefined when it is neither. */
export function parseEnvBoolean(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  const parsed = EnvBoolean.safeParse(text.trim());
  return parsed.success ? parsed.data : undefined;
}
