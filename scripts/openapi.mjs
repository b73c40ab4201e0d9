// Writes libs/protocol/openapi.yaml from the protocol's zod schemas (`npm run openapi`); `--check`
// writes nothing and exits 1 when the file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { openApiDocument } = require(path.join(root, 'libs/protocol/dist/openapi.js'));
const { stringify } = require('yaml');

const file = path.join(root, 'libs/protocol/openapi.yaml');
const text = `# Generated from the protocol's zod schemas by \`npm run openapi\`; do not edit.\n${stringify(openApiDocument(), { lineWidth: 0 })}`;
if (process.argv.includes('--check')) {
  if (readFileSync(file, 'utf8') !== text) {
    process.stderr.write(`${file} is out of date: run npm run openapi\n`);
    process.exitCode = 1;
  }
} else {
  writeFileSync(file, text);
  process.stdout.write(`wrote ${path.relative(root, file)}\n`);
}
