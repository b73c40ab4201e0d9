// The rules `npm run lint` holds the tree to, shown failing on code that breaks them: a library
// that imports a service, and a room that grew past its size. `npm test` runs the linter on the
// whole tree; these show that what it checks is what the rules say.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');

/**
 * Lints `text` as if it were the file at `file` (relative to the root), with the tree's own config,
 * in a child process as `npm run lint` does (the config is an ES module, which Jest cannot load).
 */
function lint(file: string, text: string): string[] {
  const script = `
    import { ESLint } from 'eslint';
    import tseslint from 'typescript-eslint';
    const [file, text] = process.argv.slice(1);
    // Type-aware rules need the file on disk; the rules shown here do not.
    const eslint = new ESLint({ overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }] });
    const [result] = await eslint.lintText(text, { filePath: file });
    process.stdout.write(JSON.stringify(result.messages.map((m) => m.ruleId + ': ' + m.message)));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, path.join(root, file), text], {
    cwd: root,
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  return JSON.parse(out.toString()) as string[];
}

beforeAll(() => {
  // The module-boundary rule reads the project graph Nx keeps; compute it as `npm run lint` does.
  execFileSync('npx', ['nx', 'show', 'projects'], { cwd: root, env: { ...process.env, NX_DAEMON: 'false' } });
}, 120_000);

describe('house rules', () => {
  it('refuses a library importing a service, and lets a service import a library', () => {
    const libraryUsingService = lint(
      'libs/engine/src/reaches-out.ts',
      "import { Gateway } from '@mozaiks/gateway';\nexport const g = Gateway;\n",
    );
    expect(libraryUsingService).toEqual([
      expect.stringMatching(/^@nx\/enforce-module-boundaries: .*type:lib.*type:lib/s),
    ]);

    const serviceUsingLibrary = lint(
      'services/gateway/src/uses-engine.ts',
      "import { runWorkflow } from '@mozaiks/engine';\nexport const r = runWorkflow;\n",
    );
    expect(serviceUsingLibrary).toEqual([]);
  }, 60_000);

  it('refuses a source file over 400 lines and a function over 80, but not in tests', () => {
    const longFunction = `export function long(): number {\n  let n = 0;\n${'  n++;\n'.repeat(85)}  return n;\n}\n`;
    const longFile = `${longFunction}${'export const x = 1;\n'.repeat(400)}`;
    const source = lint('libs/common/src/too-big.ts', longFile);
    expect(source).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^max-lines: File has too many lines \(4\d\d\)/),
        expect.stringMatching(/^max-lines-per-function: .*long.*\(89\)/),
      ]),
    );
    expect(lint('libs/common/src/too-big.test.ts', longFile)).toEqual([]);
  }, 60_000);
});
