// The linter decides what reviews would otherwise argue about: promises that are never awaited,
// unused names, rooms that grew too big, and libraries that reach into services (Nx module
// boundaries). Prettier decides layout (eslint-config-prettier turns off what it owns).
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const tsFiles = ['**/*.ts', '**/*.mts', '**/*.cts'];
const testFiles = [
  '**/*.test.ts',
  '**/*.contract.ts',
  '**/*.support.ts',
  '**/*.worker.ts',
  'e2e/**',
  'bench/**',
  'libs/testing/**',
];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'coverage/**',
      '.nx/**',
      'e2e/artifacts/**',
      // Fixtures are workflows' own code, shaped as their tests need; the console's bundle is built.
      'e2e/fixtures/**',
      'bench/workflows/**',
      'services/gateway/console/app.js',
    ],
  },
  js.configs.recommended,
  {
    files: tsFiles,
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: ['./libs/*/tsconfig.json', './services/*/tsconfig.json', './tsconfig.spec.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // An async method that implements a Promise-returning port needs no await to be right.
      '@typescript-eslint/require-await': 'off',
      // `reject(error)` passes on what was caught, whatever it is.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // String(caught) and a socket frame's Buffer#toString are what they look like.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
  // The console's page script is bundled on its own (scripts/build-console.mjs), outside the projects.
  { files: ['services/gateway/console/**'], extends: [tseslint.configs.disableTypeChecked] },
  // Tests read untyped JSON (events, manifests, logs) on purpose: no type-safety lecture there.
  {
    files: testFiles,
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
    },
  },
  // A room holds one job: past these sizes a second one hides inside (say why in the header if not).
  {
    files: tsFiles,
    ignores: testFiles,
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80 }],
    },
  },
  // Libraries never import services; services and tests import libraries (tags in each package.json).
  {
    files: tsFiles,
    plugins: { '@nx': nx },
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib', 'type:service'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib', 'type:service'] },
          ],
        },
      ],
    },
  },
  prettier,
);
