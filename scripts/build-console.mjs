// Bundles the web console's script (services/gateway/console/app.ts, on @mozaiks/client) into
// services/gateway/console/app.js with esbuild: one file, no CDN, shipped in the package
// (`npm run console`); `--check` writes nothing and exits 1 when the file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'services/gateway/console/app.js');
const result = await build({
  entryPoints: [path.join(root, 'services/gateway/console/app.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  write: false,
  // The client from its source; `ws` is only for Node and never reached in a browser.
  alias: { '@mozaiks/client': path.join(root, 'libs/client/src/index.ts') },
  external: ['ws'],
  logLevel: 'error',
});
const text = `// Built from services/gateway/console/app.ts by \`npm run console\`; do not edit.\n${result.outputFiles[0].text}`;
if (process.argv.includes('--check')) {
  if (readFileSync(out, 'utf8') !== text) {
    process.stderr.write(`${out} is out of date: run npm run console\n`);
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  process.stdout.write(`wrote ${path.relative(root, out)} (${text.length} bytes)\n`);
}
