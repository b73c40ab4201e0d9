// Writes libs/protocol/asyncapi.yaml from the protocol's zod schemas and PROTOCOL.md's examples
// (`npm run asyncapi`); `--check` writes nothing and exits 1 when the file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncApiHtml } from './asyncapi-page.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { asyncApiDocument, protocolExamples } = require(path.join(root, 'libs/protocol/dist/asyncapi.js'));
const { stringify } = require('yaml');

const doc = asyncApiDocument(protocolExamples(readFileSync(path.join(root, 'libs/protocol/PROTOCOL.md'), 'utf8')));
// The document, and a page that renders it.
const outputs = {
  [path.join(root, 'libs/protocol/asyncapi.yaml')]:
    `# Generated from the protocol's zod schemas and PROTOCOL.md by \`npm run asyncapi\`; do not edit.\n${stringify(doc, { lineWidth: 0 })}`,
  [path.join(root, 'libs/protocol/asyncapi.html')]: asyncApiHtml(doc),
};
for (const [file, text] of Object.entries(outputs)) {
  if (process.argv.includes('--check')) {
    if (readFileSync(file, 'utf8') !== text) {
      process.stderr.write(`${file} is out of date: run npm run asyncapi\n`);
      process.exitCode = 1;
    }
  } else {
    writeFileSync(file, text);
    process.stdout.write(`wrote ${path.relative(root, file)}\n`);
  }
}
