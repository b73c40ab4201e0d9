// The Helm chart as the tests see it: rendered with the real `helm` binary, parsed into objects.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { testServerCacheDir } from '@mozaiks/testing';
import { REPO_ROOT } from '../harness';

export const CHART_DIR = path.join(REPO_ROOT, 'helm/mozaiks-runtime');
export const CI_VALUES = ['minimal', 'ha-keda', 'existing-secret', 'nats-subchart'].map((name) =>
  path.join(CHART_DIR, 'ci', `${name}-values.yaml`),
);

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
};

/** A Helm the chart is tested with: its major version and its binary. */
export interface HelmRelease {
  name: 'Helm 4' | 'Helm 3';
  /** The version `helm version` reports, e.g. v4.3.2. */
  version: string;
  bin: string;
}

/**
 * The Helms the chart is tested with: Helm 4 (HELM_BIN, else the project's cache) and Helm 3
 * (HELM3_BIN, else the cache), both built by scripts/ensure-test-servers.sh.
 */
export const HELMS: readonly HelmRelease[] = [
  { name: 'Helm 4', version: 'v4.3.2', bin: process.env.HELM_BIN ?? path.join(testServerCacheDir(), 'helm-v4.3.2') },
  { name: 'Helm 3', version: 'v3.21.4', bin: process.env.HELM3_BIN ?? path.join(testServerCacheDir(), 'helm-v3.21.4') },
];

/** Runs `helm` (Helm 4 unless another is given). */
export function helm(
  args: string[],
  release: HelmRelease = HELMS[0]!,
): { status: number; stdout: string; stderr: string } {
  if (!process.env.HELM_BIN && !process.env.HELM3_BIN && !existsSync(release.bin))
    throw new Error(
      `${release.bin} is missing: run scripts/ensure-test-servers.sh (npm test does), or set HELM_BIN / HELM3_BIN`,
    );
  const out = spawnSync(release.bin, args, { encoding: 'utf8', cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
  if (out.error)
    throw new Error(
      `cannot run ${release.name} (${out.error.message}): run scripts/ensure-test-servers.sh, or set HELM_BIN / HELM3_BIN`,
    );
  return { status: out.status ?? 1, stdout: out.stdout, stderr: out.stderr };
}

/** `helm template` of the chart with `valuesFiles` and `set` values; throws with helm's message. */
export function renderChart(
  options: {
    valuesFiles?: string[];
    set?: Record<string, string | number | boolean>;
    release?: string;
    namespace?: string;
    extra?: string[];
    helm?: HelmRelease;
  } = {},
): K8sObject[] {
  const args = [
    'template',
    options.release ?? 'mozaiks',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'mozaiks',
    ...(options.extra ?? []),
  ];
  for (const file of options.valuesFiles ?? []) args.push('-f', file);
  // Strings as strings (a value that looks like a number stays text); numbers and booleans typed.
  for (const [key, value] of Object.entries(options.set ?? {}))
    args.push(typeof value === 'string' ? '--set-string' : '--set', `${key}=${value}`);
  const out = helm(args, options.helm);
  if (out.status !== 0) throw new Error(out.stderr.trim());
  return parseManifests(out.stdout);
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length) throw new Error(doc.errors[0]!.message);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** Offline schema validation of every object (see validate-manifests.mjs). */
export function validateObjects(objects: K8sObject[]): { checked: string[]; problems: string[] } {
  const out = spawnSync(process.execPath, [path.join(__dirname, 'validate-manifests.mjs')], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (out.status !== 0) throw new Error(`validate-manifests failed: ${out.stderr}`);
  return JSON.parse(out.stdout) as { checked: string[]; problems: string[] };
}

/** Our own objects (not the NATS chart's). */
export const ours = (objects: K8sObject[]) =>
  objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'mozaiks-runtime');
export const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
export const component = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'];
