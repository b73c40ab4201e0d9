// Writes files generated from the code (`npm run asyncapi`, `npm run openapi`); with `--check` it
// writes nothing and sets exit code 1 for each file that differs from what would be written.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** `outputs`: file → text; `command`: what regenerates them, for the message of a stale file. */
export function writeGenerated(root, outputs, command) {
  for (const [file, text] of Object.entries(outputs)) {
    if (process.argv.includes('--check')) {
      if (readFileSync(file, 'utf8') !== text) {
        process.stderr.write(`${file} is out of date: run ${command}\n`);
        process.exitCode = 1;
      }
    } else {
      writeFileSync(file, text);
      process.stdout.write(`wrote ${path.relative(root, file)}\n`);
    }
  }
}
