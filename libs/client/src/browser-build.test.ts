// The client bundles for browsers as it is: nothing Node-only in it (a browser bundler would
// refuse node: modules), `ws` reached only through the dynamic import it takes when the platform
// has no WebSocket of its own, and no runtime dependency pulled in.
import path from 'node:path';
import { build } from 'esbuild';

describe('@mozaiks/client in a browser bundle', () => {
  it('bundles for the browser with no Node module, ws left to Node, and stays small', async () => {
    const result = await build({
      entryPoints: [path.join(__dirname, 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      write: false,
      minify: true,
      external: ['ws'],
      metafile: true,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/\bnode:/);
    expect(code).not.toMatch(/\brequire\(/);
    expect(code).toMatch(/import\("ws"\)/);
    // Only the client's own files: the protocol's schemas are types, erased.
    expect(Object.keys(result.metafile.inputs).every((f) => f.includes('libs/client/src/'))).toBe(true);
    expect(code.length).toBeLessThan(12 * 1024);
  });
});
