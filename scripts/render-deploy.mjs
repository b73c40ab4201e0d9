#!/usr/bin/env node
// Renders what deploy/ holds from the Helm chart, for people without Helm:
//   deploy/kubernetes/mozaiks-runtime.yaml   the chart with deploy/kubernetes/values.yaml
//   deploy/prometheus/alerts.yaml            the chart's alert rules as a Prometheus rule file
// `--check` changes nothing and exits 1 when a file differs from a fresh render (the tests run it).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cached = path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'mozaiks', 'bin', 'helm-v4.3.2');
const helmBin = process.env.HELM_BIN ?? (existsSync(cached) ? cached : 'helm');

function helm(args) {
  const out = spawnSync(helmBin, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (out.error)
    throw new Error(`cannot run ${helmBin}: ${out.error.message} (scripts/ensure-test-servers.sh installs it)`);
  if (out.status !== 0) throw new Error(out.stderr);
  return out.stdout;
}

const chart = 'helm/mozaiks-runtime';
// The chart rendered with deploy/kubernetes/values.yaml, and anything more asked for.
const render = (...extra) =>
  helm(['template', 'mozaiks', chart, '--namespace', 'mozaiks', '-f', 'deploy/kubernetes/values.yaml', ...extra]);
const manifests = render('--skip-tests');
const rule = parseAllDocuments(
  render('--set', 'metrics.prometheusRule.enabled=true', '--show-only', 'templates/prometheusrule.yaml'),
)
  .map((d) => d.toJS())
  .find((o) => o?.kind === 'PrometheusRule');

const files = {
  'deploy/kubernetes/mozaiks-runtime.yaml':
    '# Generated from helm/mozaiks-runtime with deploy/kubernetes/values.yaml by `npm run deploy:render`; do not edit.\n' +
    '# Create the Secret first: kubectl -n mozaiks create secret generic mozaiks-runtime-secrets \\\n' +
    '#   --from-literal=JWT_SECRET=… --from-literal=MONGODB_URI=mongodb://… [--from-literal=OPENAI_API_KEY=…]\n' +
    manifests,
  'deploy/prometheus/alerts.yaml':
    "# Generated from the chart's PrometheusRule by `npm run deploy:render`; do not edit. Load it with\n" +
    '# rule_files in prometheus.yml (docker-compose.yml does).\n' +
    stringify({ groups: rule.spec.groups }, { lineWidth: 0 }),
};

const check = process.argv.includes('--check');
let stale = 0;
for (const [file, text] of Object.entries(files)) {
  const target = path.join(root, file);
  const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
  if (current === text) continue;
  if (check) {
    process.stderr.write(`${file} is out of date with the chart: run npm run deploy:render\n`);
    stale++;
  } else {
    writeFileSync(target, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}
process.exit(stale ? 1 : 0);
