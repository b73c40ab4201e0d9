#!/usr/bin/env node
// `npx mozaiks …`: runs the built CLI, building the workspace first on a fresh clone.
const { existsSync } = require('node:fs');
const path = require('node:path');
const main = path.join(__dirname, '../dist/main.js');
if (!existsSync(main)) {
  require('node:child_process').execSync('npm run build --silent', {
    cwd: path.join(__dirname, '../../..'),
    stdio: 'inherit',
  });
}
require(main);
