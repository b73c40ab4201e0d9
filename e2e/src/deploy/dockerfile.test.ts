// The image's Dockerfile, read as a reviewer would: what it promises the chart and compose rely on.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../harness';

const dockerfile = readFileSync(path.join(REPO_ROOT, 'deploy/docker/Dockerfile'), 'utf8');
const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

it('runs as a non-root numeric user, under tini, with node as the entrypoint and standalone as the default command', () => {
  expect(runtimeStage).toMatch(/^USER 10001:10001$/m);
  expect(runtimeStage).toContain('ENTRYPOINT ["/usr/bin/tini", "-g", "--", "node"]');
  expect(runtimeStage).toContain('CMD ["services/standalone/dist/main.js"]');
  expect(runtimeStage).toMatch(/apt-get install [^\n]*tini python3 util-linux/);
});

it('carries the OCI labels and installs production dependencies of the services only', () => {
  for (const label of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'base.name'])
    expect(runtimeStage).toContain(`org.opencontainers.image.${label}=`);
  expect(dockerfile).toContain('npm ci --omit=dev');
  for (const service of ['gateway', 'executor', 'tool-runner', 'usage-emitter', 'standalone', 'cli'])
    expect(dockerfile).toContain(`-w services/${service}`);
  expect(dockerfile).toContain('rm -rf libs/testing e2e');
});

it('keeps the build context small: no node_modules, data, .env or tests', () => {
  const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
  for (const entry of ['**/node_modules', '.env', '.data', '*.sqlite', '**/*.test.ts', '.git'])
    expect(ignored).toContain(entry);
});

it('builds on a base image pinned to a full Node release (or a digest), and compose pins every image it pulls', () => {
  const base = dockerfile.match(/^ARG NODE_IMAGE=(\S+)$/m)?.[1];
  expect(base).toMatch(/^node:\d+\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
  expect(dockerfile.match(/^FROM .*$/gm)).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE}']);
  const compose = readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
  const pulled = [...compose.matchAll(/^\s+image: (\S+)$/gm)]
    .map((m) => m[1]!)
    .filter((image) => !image.startsWith('${MOZAIKS_IMAGE'));
  expect(pulled.length).toBeGreaterThanOrEqual(5);
  // A full version (x.y.z, any suffix) or a digest: never a floating major or minor tag.
  for (const image of pulled)
    expect(image).toMatch(/:v?\d+\.\d+\.\d+[^:@]*(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$/);
});
