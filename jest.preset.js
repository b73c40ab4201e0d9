// Shared Jest settings: swc transpiles TypeScript, workspace packages resolve to their sources so a
// test always runs the code beside it, and ESM-only dependencies are transformed to CommonJS.
const fs = require('node:fs');
const path = require('node:path');

const esmOnly = ['jose'];
const workspaceSources = {};
for (const group of ['libs', 'services']) {
  const dir = path.join(__dirname, group);
  for (const name of fs.readdirSync(dir)) {
    const pkg = path.join(dir, name, 'package.json');
    if (!fs.existsSync(pkg)) continue;
    workspaceSources[`^${JSON.parse(fs.readFileSync(pkg, 'utf8')).name}$`] = path.join(dir, name, 'src/index.ts');
  }
}

module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: { globalsCleanup: 'off' },
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  transform: {
    '^.+\\.(ts|m?js)$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: { ...workspaceSources, '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30000,
};
