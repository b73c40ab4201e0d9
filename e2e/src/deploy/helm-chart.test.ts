// The Helm chart, checked as a platform team's CI would, with Helm 4 and with Helm 3: lint, render
// over several values files, every object valid against the Kubernetes (and CRD) schemas, and the
// invariants the runtime needs of a cluster: locked-down pods, probes on the right paths, a grace
// period above the drain, no secret outside a Secret, a tool-runner kept off the cluster network.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runtimeStreams } from '@mozaiks/service';
import { makeTempDir } from '@mozaiks/testing';
import { REPO_ROOT } from '../harness';
import { CHART_DIR, CI_VALUES, HELMS, component, helm, ofKind, ours, renderChart, validateObjects } from './chart';
import type { K8sObject } from './chart';

const MINIMAL = CI_VALUES[0]!;
const secretValues = {
  'secrets.jwtSecret': 'jwt-value-that-must-stay-secret-0123456789',
  'secrets.openaiApiKey': 'sk-value-that-must-stay-secret',
  'secrets.mongodbUri': 'mongodb://user:pw-that-must-stay-secret@db:27017/?replicaSet=rs0',
};
const podSpecs = (objects: K8sObject[]) => [
  ...ofKind(ours(objects), 'Deployment').map((d) => ({ name: d.metadata.name, spec: d.spec.template.spec })),
  ...ofKind(ours(objects), 'Pod').map((p) => ({ name: p.metadata.name, spec: p.spec })),
];

describe.each(HELMS.map((h) => [h.name, h] as const))('with %s', (_name, h) => {
  const run = (args: string[]) => helm(args, h);
  const render = (options: Parameters<typeof renderChart>[0] = {}) => renderChart({ ...options, helm: h });

  it('is the release it claims, and renders for the Kubernetes version of its build (not v1.20)', () => {
    expect(run(['version', '--template', '{{.Version}}']).stdout.trim()).toBe(h.version);
    const probe = makeTempDir('mozaiks-helm-probe-');
    try {
      mkdirSync(path.join(probe.path, 'templates'));
      writeFileSync(path.join(probe.path, 'Chart.yaml'), 'apiVersion: v2\nname: probe\nversion: 0.1.0\n');
      writeFileSync(
        path.join(probe.path, 'templates/kube.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube}\ndata: {version: "{{ .Capabilities.KubeVersion.Version }}"}\n',
      );
      const out = run(['template', 'probe', probe.path]);
      expect(out.stderr).toBe('');
      const minor = Number(/version: "?v1\.(\d+)\./.exec(out.stdout)?.[1]);
      // The chart asks for Kubernetes 1.27 or newer.
      expect(minor).toBeGreaterThanOrEqual(27);
    } finally {
      probe.remove();
    }
  });

  it.each(CI_VALUES.map((f) => [path.basename(f)]))('passes helm lint --strict with %s', (file) => {
    const out = run(['lint', '--strict', CHART_DIR, '-f', path.join(CHART_DIR, 'ci', file)]);
    expect(`${out.stdout}${out.stderr}`).toContain('0 chart(s) failed');
    expect(out.status).toBe(0);
  });

  it.each(CI_VALUES.map((f) => [path.basename(f)]))('renders %s into objects the Kubernetes schemas accept', (file) => {
    const objects = render({ valuesFiles: [path.join(CHART_DIR, 'ci', file)] });
    const { checked, problems } = validateObjects(objects);
    expect(problems).toEqual([]);
    expect(checked).toHaveLength(objects.length);
    expect(ofKind(ours(objects), 'Deployment').map(component).sort()).toEqual([
      'executor',
      'gateway',
      'tool-runner',
      'usage-emitter',
    ]);
  });

  it('has a schema check that catches a broken object (so a pass above means something)', () => {
    const [deployment] = ofKind(render({ valuesFiles: [MINIMAL] }), 'Deployment');
    deployment!.spec.template.spec.containers[0].ports[0].containerPort = 'eight thousand';
    delete deployment!.spec.selector;
    const { problems } = validateObjects([
      deployment!,
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
    ]);
    expect(problems.join('\n')).toMatch(/containerPort must be integer/);
    expect(problems.join('\n')).toMatch(/data\/spec must have required property selector/);
    expect(problems).toContain('Widget/w: no schema for example.com/v1 Widget');
  });

  it('refuses wrong values with the key and the reason', () => {
    const bad = (set: string[]) => {
      const out = run(['template', 'r', CHART_DIR, '-f', MINIMAL, ...set.flatMap((s) => ['--set', s])]);
      expect(out.status).not.toBe(0);
      return out.stderr;
    };
    expect(bad(['gateway.replicas=two'])).toContain("at '/gateway/replicas': got string, want integer");
    expect(bad(['config.doubleTexting=sometimes'])).toContain(
      "at '/config/doubleTexting': value must be one of 'enqueue', 'reject', 'interrupt'",
    );
    expect(bad(['gatway.replicas=3'])).toContain("additional properties 'gatway' not allowed");
    expect(bad(['secrets.mongodbUri=postgres://db'])).toContain("at '/secrets/mongodbUri'");
    expect(bad(['config.extraEnv.OPENAI_API_KEY=sk-1'])).toContain("at '/config/extraEnv'");
    expect(bad(['workflows.source=git'])).toContain(
      "at '/workflows/source': value must be one of 'image', 'configMap', 'volume'",
    );
    // What cannot work without a value is named, with what to set.
    const missing = (args: string[]) => run(['template', 'r', CHART_DIR, ...args]).stderr;
    expect(missing([])).toContain('nats: set nats.url to your NATS (with JetStream), or nats.enabled=true');
    expect(missing(['--set', 'nats.url=nats://n:4222'])).toContain('secrets.mongodbUri: required');
    expect(missing(['--set', 'nats.url=nats://n:4222', '--set', 'secrets.mongodbUri=mongodb://db'])).toContain(
      'secrets.jwtSecret: required to verify launch tokens',
    );
    expect(missing(['-f', MINIMAL, '--set', 'executor.keda.enabled=true'])).toContain(
      'nats.monitoringEndpoint: KEDA reads the run-queue lag',
    );
  });

  describe.each(CI_VALUES.map((f) => [path.basename(f), f]))('invariants with %s', (_name, file) => {
    const objects = render({ valuesFiles: [file], set: file === MINIMAL ? secretValues : {} });
    const config = ofKind(ours(objects), 'ConfigMap').find((c) => c.metadata.name.endsWith('-runtime-config'))!;
    const drain = Number(config.data.SHUTDOWN_GRACE_SECONDS);

    it('locks down every pod: non-root, read-only root, no capabilities, seccomp, writable /tmp only', () => {
      for (const { name, spec } of podSpecs(objects)) {
        expect([name, spec.securityContext.runAsNonRoot, spec.securityContext.seccompProfile?.type]).toEqual([
          name,
          true,
          'RuntimeDefault',
        ]);
        expect(spec.automountServiceAccountToken).toBe(false);
        for (const c of spec.containers) {
          expect([name, c.securityContext]).toMatchObject([
            name,
            { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          ]);
          expect(c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp')).toBeDefined();
          expect(
            c.volumeMounts.filter(
              (m: { readOnly?: boolean; mountPath: string }) => !m.readOnly && m.mountPath !== '/tmp',
            ),
          ).toEqual([]);
        }
        expect(spec.volumes.find((v: { name: string }) => v.name === 'tmp').emptyDir.sizeLimit).toBeDefined();
      }
    });

    it('probes /health for liveness and /ready for readiness, on the port the service listens on', () => {
      for (const d of ofKind(ours(objects), 'Deployment')) {
        const [c] = d.spec.template.spec.containers;
        const port = c.env.find((e: { name: string }) => e.name === 'PORT').value;
        expect(c.ports).toEqual([{ name: 'http', containerPort: Number(port), protocol: 'TCP' }]);
        expect(c.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
        expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
        expect(c.args).toEqual([`services/${component(d)}/dist/main.js`]);
      }
    });

    it('gives every pod longer to stop than its preStop pause plus the drain grace', () => {
      for (const d of ofKind(ours(objects), 'Deployment')) {
        const spec = d.spec.template.spec;
        const pause = Number(spec.containers[0].lifecycle?.preStop?.exec?.command?.[1] ?? 0);
        expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(pause + drain);
        if (component(d) === 'gateway') expect(pause).toBeGreaterThan(0);
      }
    });

    it('keeps secrets in the Secret: never in a ConfigMap, never given to the tool-runner or usage-emitter', () => {
      const text = (o: K8sObject) => JSON.stringify(o);
      for (const value of Object.values(secretValues)) {
        for (const o of objects.filter((x) => x.kind !== 'Secret')) expect(text(o)).not.toContain(value);
      }
      if (file === MINIMAL) {
        const secret = ofKind(objects, 'Secret').find((s) => s.metadata.name.endsWith('-secrets'))!;
        expect(Object.values(secret.stringData).sort()).toEqual(Object.values(secretValues).sort());
      }
      for (const d of ofKind(ours(objects), 'Deployment')) {
        const refs = (d.spec.template.spec.containers[0].env ?? [])
          .filter((e: { valueFrom?: unknown }) => e.valueFrom)
          .map((e: { name: string }) => e.name);
        // The webhooks' signing secret goes to the usage-emitter alone, when webhooks are on.
        const webhooks = file.includes('ha-keda') ? ['USAGE_WEBHOOK_SECRET'] : [];
        const expected = {
          gateway: ['MONGODB_URI', 'JWT_SECRET'],
          executor: ['MONGODB_URI', 'OPENAI_API_KEY'],
          'tool-runner': [],
          'usage-emitter': webhooks,
        }[component(d)!];
        expect([component(d), refs]).toEqual([component(d), expected]);
      }
      for (const c of ofKind(objects, 'ConfigMap'))
        expect(Object.keys(c.data ?? {}).filter((k) => /SECRET|API_KEY|MONGODB_URI|PASSWORD/.test(k))).toEqual([]);
    });

    it('lets only the gateway take outside traffic and keeps the tool-runner to DNS, NATS and its egress', () => {
      const policies = ofKind(objects, 'NetworkPolicy');
      if (file.includes('existing-secret')) return; // the same defaults; nothing new to see
      expect(policies.map(component).sort()).toEqual(['executor', 'gateway', 'tool-runner', 'usage-emitter']);
      for (const p of policies) {
        for (const rule of p.spec.ingress) {
          if (component(p) !== 'gateway') expect(rule.from?.length).toBeGreaterThan(0);
        }
      }
      const tools = policies.find((p) => component(p) === 'tool-runner')!;
      expect(tools.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const ports = tools.spec.egress.flatMap((r: { ports: Array<{ port: number }> }) => r.ports.map((x) => x.port));
      expect(ports.slice(0, 3)).toEqual([53, 53, 4222]);
    });

    it('spreads pods, keeps a PDB for the gateway and the executors, and never scales what an autoscaler owns', () => {
      const pdbs = ofKind(objects, 'PodDisruptionBudget').filter((p) => component(p));
      expect(pdbs.map(component)).toEqual(expect.arrayContaining(['gateway', 'executor']));
      const hpa = ofKind(objects, 'HorizontalPodAutoscaler');
      const keda = ofKind(objects, 'ScaledObject');
      for (const d of ofKind(ours(objects), 'Deployment')) {
        expect(
          d.spec.template.spec.topologySpreadConstraints.map((t: { topologyKey: string }) => t.topologyKey),
        ).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
        const scaled = [...hpa, ...keda].some((s) => s.spec.scaleTargetRef.name === d.metadata.name);
        expect([d.metadata.name, 'replicas' in d.spec]).toEqual([d.metadata.name, !scaled]);
      }
    });
  });

  it('points KEDA at the run-queue stream and consumer the executors use, for any subject prefix', () => {
    const objects = render({ valuesFiles: [CI_VALUES[1]!], set: { 'config.subjectPrefix': 'acme-prod' } });
    const [scaled] = ofKind(objects, 'ScaledObject');
    expect(scaled!.spec.triggers[0].metadata.stream).toBe(
      runtimeStreams('acme-prod').find((s) => s.subjects.includes('acme-prod.run.>'))!.name,
    );
    expect(scaled!.spec.triggers[0].metadata.consumer).toMatch(/^executors_[0-9a-f]{10}$/);
    // The NATS chart's monitoring Service when NATS comes with the release.
    const withNats = ofKind(render({ valuesFiles: [CI_VALUES[3]!], release: 'prod' }), 'ScaledObject')[0]!;
    expect(withNats.spec.triggers[0].metadata.natsServerMonitoringEndpoint).toBe('prod-nats.mozaiks.svc:8222');
  });

  it('installs the official NATS chart with JetStream when nats.enabled, and wires its Service', () => {
    const objects = render({ valuesFiles: [CI_VALUES[3]!], release: 'prod' });
    const config = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name === 'prod-mozaiks-runtime-config')!;
    expect(config.data.NATS_URL).toBe('nats://prod-nats:4222');
    expect(ofKind(objects, 'Service').map((s) => s.metadata.name)).toContain('prod-nats');
    const natsConfig = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name === 'prod-nats-config')!;
    expect(natsConfig.data['nats.conf']).toMatch(/"jetstream":\s*\{/);
    // Workflows from the ConfigMap land at their paths under WORKFLOWS_DIR.
    const executor = ofKind(objects, 'Deployment').find((d) => component(d) === 'executor')!;
    const volume = executor.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'workflows');
    expect(volume.configMap.items).toEqual([
      { key: 'greeter__agents.yaml', path: 'greeter/agents.yaml' },
      { key: 'greeter__orchestrator.yaml', path: 'greeter/orchestrator.yaml' },
    ]);
  });

  it('routes only the chat sockets and /chat/start from outside (and /console when asked); /v1 only when opened', () => {
    const routed = (set: Record<string, string | number | boolean> = {}) => {
      const objects = render({ valuesFiles: [CI_VALUES[1]!], set });
      const ingress = ofKind(objects, 'Ingress')[0]!;
      const route = ofKind(objects, 'HTTPRoute')[0]!;
      return {
        ingress: ingress.spec.rules[0].http.paths.map(
          (p: { path: string; pathType: string }) => `${p.pathType} ${p.path}`,
        ),
        route: route.spec.rules[0].matches.map(
          (m: { path: { type: string; value: string } }) => `${m.path.type} ${m.path.value}`,
        ),
      };
    };
    // ha-keda asks for the console on the Ingress only.
    expect(routed()).toEqual({
      ingress: ['Prefix /ws', 'Exact /chat/start', 'Prefix /console'],
      route: ['PathPrefix /ws', 'Exact /chat/start'],
    });
    expect(routed({ 'ingress.chatsApi': true, 'httpRoute.chatsApi': true })).toEqual({
      ingress: ['Prefix /ws', 'Exact /chat/start', 'Prefix /console', 'Prefix /v1'],
      route: ['PathPrefix /ws', 'Exact /chat/start', 'PathPrefix /v1'],
    });
    // A host that names its own paths gets those.
    const own = routed({
      'ingress.hosts[0].host': 'a.example.com',
      'ingress.hosts[0].paths[0].path': '/',
      'ingress.hosts[0].paths[0].pathType': 'Prefix',
    });
    expect(own.ingress).toEqual(['Prefix /']);
  });
});

it('keeps deploy/ (plain manifests, alert rules) in step with the chart', () => {
  const out = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/render-deploy.mjs'), '--check'], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
  });
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
});
