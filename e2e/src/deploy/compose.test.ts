// docker-compose.yml, checked without a Docker engine: parsed as Compose would read it (anchors,
// merges, ${VAR:-default}), each runtime service started here with its command and environment
// (nats-server and FerretDB standing in for the nats and mongo services), then the README's way
// in: a token from `mozaiks token`, a chat turn through the gateway. The Prometheus config, alert
// rules and Grafana dashboard it mounts are checked against the metrics the services expose.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { WsTestClient, mongoTestServerAvailable, startMongoTestServer, startNatsServer } from '@mozaiks/testing';
import type { MongoTestServer, NatsServer } from '@mozaiks/testing';
import { REPO_ROOT } from '../harness';
import { LocalPod } from './pods';

type ComposeService = {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  volumes?: string[];
  profiles?: string[];
  read_only?: boolean;
  user?: string;
  cap_drop?: string[];
};
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), {
  merge: true,
  maxAliasCount: 1000,
}) as { services: Record<string, ComposeService> };
const RUNTIME = ['gateway', 'executor', 'tool-runner', 'usage-emitter'];

/** Compose's interpolation: ${NAME}, ${NAME:-default}, from `vars` (an unset or empty NAME takes the default). */
function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g,
    (_m, name: string, fallback?: string) => vars[name] || (fallback ?? ''),
  );
}

it('runs each service from the one image as a locked-down user, with the workflows read-only', () => {
  for (const name of RUNTIME) {
    const s = compose.services[name]!;
    expect([name, s.command]).toEqual([name, [`services/${name}/dist/main.js`]]);
    expect(s).toMatchObject({
      image: '${MOZAIKS_IMAGE:-mozaiks-runtime:local}',
      read_only: true,
      user: '10001:10001',
      cap_drop: ['ALL'],
    });
  }
  expect(compose.services.executor!.deploy?.replicas).toBe(2);
  expect(compose.services.executor!.volumes).toEqual(['./workflows:/app/workflows:ro']);
  // Secrets stay with the services that need them: tools never see them; the usage-emitter has
  // only the webhooks' signing secret, and no other service has it.
  const secrets = (name: string) =>
    Object.keys(compose.services[name]!.environment!).filter((k) => /SECRET|API_KEY|MONGODB_URI/.test(k));
  expect(secrets('tool-runner')).toEqual([]);
  expect(secrets('usage-emitter')).toEqual(['USAGE_WEBHOOK_SECRET']);
  for (const name of ['gateway', 'executor']) expect(secrets(name)).not.toContain('USAGE_WEBHOOK_SECRET');
  expect(compose.services.prometheus!.profiles).toEqual(['monitoring']);
  expect(compose.services['otel-collector']!.profiles).toEqual(['tracing']);
});

const maybe = mongoTestServerAvailable() ? describe : describe.skip;

maybe('docker-compose.yml rehearsed on real processes', () => {
  let nats: NatsServer;
  let mongo: MongoTestServer;
  const pods: Record<string, LocalPod[]> = {};

  beforeAll(async () => {
    [nats, mongo] = await Promise.all([startNatsServer(), startMongoTestServer().then((m) => m!)]);
    const database = mongo.database();
    // The stand-ins' addresses for the compose network's names (FerretDB is not a replica set).
    const standIn = (value: string) =>
      value
        .replace(/^nats:\/\/nats:4222$/, nats.url)
        .replace(/^mongodb:\/\/mongo:27017\/\?replicaSet=rs0$/, mongo.uri)
        .replace(/^mozaiks_runtime$/, database);
    for (const name of RUNTIME) {
      const s = compose.services[name]!;
      const env = Object.fromEntries(
        Object.entries(s.environment ?? {})
          .map(([k, v]) => [k, standIn(interpolate(String(v), {}))])
          .filter(([, v]) => v !== ''),
      );
      pods[name] = Array.from(
        { length: s.deploy?.replicas ?? 1 },
        (_, i) =>
          new LocalPod(
            `${name}-${i}`,
            {
              args: s.command!,
              readinessProbe: { httpGet: { path: '/ready' } },
              livenessProbe: { httpGet: { path: '/health' } },
            },
            env,
          ),
      );
    }
    await Promise.all(
      Object.values(pods)
        .flat()
        .map(async (p) => (await p.start()).ready()),
    );
  }, 90_000);

  afterAll(async () => {
    await Promise.all(
      Object.values(pods)
        .flat()
        .map((p) => p.dispose()),
    );
    await Promise.all([nats?.dispose(), mongo?.dispose()]);
  });

  it("answers the README's chat: a token from `mozaiks token`, one turn through the gateway, on the demo model", async () => {
    const gatewayEnv = pods.gateway![0]!.env;
    const minted = spawnSync(
      process.execPath,
      ['services/cli/bin/mozaiks.js', 'token', '--workflow', 'hello', '--chat', 'chat_compose'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH!, JWT_SECRET: gatewayEnv.JWT_SECRET!, JWT_AUDIENCE: gatewayEnv.JWT_AUDIENCE! },
      },
    );
    expect(minted.stderr).toBe('');
    const client = await WsTestClient.connect(
      `${pods.gateway![0]!.url.replace('http', 'ws')}/ws/chat?token=${minted.stdout.trim()}`,
    );
    const events = await client.exchange('Hello there');
    expect(events.find((e) => e.type === 'agent_message')).toMatchObject({ agent: 'Assistant' });
    expect(events.find((e) => e.type === 'workflow_complete')).toMatchObject({ status: 'completed' });
    await client.close();
  });

  it('exposes every metric the alert rules and the Grafana dashboard query', async () => {
    const exposed = new Set<string>();
    for (const pod of Object.values(pods).flat()) {
      const text = await (await fetch(`${pod.url}/metrics`)).text();
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)/gm)) {
        exposed.add(m[1]!);
        if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(`${m[1]}${suffix}`);
      }
    }
    const alerts = parse(readFileSync(path.join(REPO_ROOT, 'deploy/prometheus/alerts.yaml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ expr: string }> }>;
    };
    const dashboard = JSON.parse(
      readFileSync(path.join(REPO_ROOT, 'deploy/grafana/dashboards/mozaiks-runtime.json'), 'utf8'),
    ) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exprs = [
      ...alerts.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ];
    const functions = new Set([
      'sum',
      'max',
      'rate',
      'increase',
      'histogram_quantile',
      'by',
      'or',
      'vector',
      'le',
      'and',
    ]);
    const used = new Set(
      exprs
        .flatMap((e) =>
          [
            ...e
              .replace(/\{[^}]*\}/g, '')
              .replace(/\[[^\]]*\]/g, '')
              .matchAll(/[a-z_][a-z0-9_]*/g),
          ].map((m) => m[0]),
        )
        .filter((n) => n.includes('_') && !functions.has(n)),
    );
    const labels = new Set(['app_id', 'model', 'status', 'outcome', 'state', 'service', 'job', 'instance']);
    expect([...used].filter((n) => !labels.has(n) && !exposed.has(n))).toEqual([]);
    expect(used.size).toBeGreaterThan(12);
  });
});
