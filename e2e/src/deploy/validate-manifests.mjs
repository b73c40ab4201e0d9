// Validates Kubernetes objects offline against the API's schemas (kubernetes-models, plus the
// Prometheus Operator, KEDA and Gateway API CRDs). Reads a JSON array of objects on stdin and
// prints {"checked": [...], "problems": [...]}; a kind without a schema is a problem, not a pass.
// An ES module of its own because the CRD model packages are ESM-only.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const core = (group, version, kind) => require(`kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`)[kind];

async function model(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com')
    return (await import(`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`))[kind];
  if (group === 'keda.sh') return require(`@kubernetes-models/keda/${group}/${version}/${kind}`)[kind];
  if (group === 'gateway.networking.k8s.io')
    return require(`@kubernetes-models/gateway-api/${group}/${version}/${kind}`)[kind];
  return core(group, version, kind);
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const checked = [];
const problems = [];
for (const object of JSON.parse(input)) {
  const name = `${object.kind}/${object.metadata?.name}`;
  let Model;
  try {
    Model = await model(object.apiVersion, object.kind);
  } catch {
    problems.push(`${name}: no schema for ${object.apiVersion} ${object.kind}`);
    continue;
  }
  try {
    new Model(object).validate();
    checked.push(name);
  } catch (error) {
    problems.push(`${name}: ${error.message}`);
  }
}
process.stdout.write(JSON.stringify({ checked, problems }));
