// Writes libs/protocol/openapi.yaml from the protocol's zod schemas (`npm run openapi`); `--check`
// writes nothing and exits 1 when the file is out of date.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGenerated } from './generated-files.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { openApiDocument } = require(path.join(root, 'libs/protocol/dist/openapi.js'));
const { stringify } = require('yaml');

const file = path.join(root, 'libs/protocol/openapi.yaml');
const text = `# Generated from the protocol's zod schemas by \`npm run openapi\`; do not edit.\n${stringify(openApiDocument(), { lineWidth: 0 })}`;
writeGenerated(root, { [file]: text }, 'npm run openapi');
