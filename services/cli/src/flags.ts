// Flags of the `mozaiks` subcommands: parsed strictly, a bad flag being a usage error (exit code 2).
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { errorMessage } from '@mozaiks/common';

type Options = NonNullable<ParseArgsConfig['options']>;

/** A command line the subcommand cannot run with; its message says which flag and why. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The values of `options` in `args`. @throws UsageError for an unknown or malformed flag */
export function parseFlags<O extends Options>(
  args: string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true }>>['values'] {
  try {
    return parseArgs({ args, options, strict: true }).values;
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}
