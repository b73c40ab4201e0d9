// Writes libs/protocol/asyncapi.yaml from the protocol's zod schemas and PROTOCOL.md's examples
// (`npm run asyncapi`); `--check` writes nothing and exits 1 when the file is out of date.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncApiHtml } from './asyncapi-page.mjs';
import { writeGenerated } from './generated-files.mjs';

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
writeGenerated(root, outputs, 'npm run asyncapi');
