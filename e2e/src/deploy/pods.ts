// Runs rendered Deployments as local processes: each pod's command (the image's entrypoint, node,
// with the container's args) and environment as Kubernetes would assemble it (envFrom ConfigMaps,
// env values, secretKeyRefs), so a test proves the chart's wiring instead of assuming it.
// What a host cannot give every pod is stood in for, and only that: the image's /app is this
// repository, each pod's /tmp is a folder of its own, and each pod gets a free PORT (pods have
// their own network namespace; processes on one host do not).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, makeTempDir } from '@mozaiks/testing';
import type { TempDir } from '@mozaiks/testing';
import { REPO_ROOT } from '../harness';
import type { K8sObject } from './chart';

type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
};
type Container = {
  args: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  readinessProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
};

/** The environment Kubernetes gives `container`, from the rendered ConfigMaps and Secrets. */
export function containerEnv(container: Container, objects: K8sObject[]): Record<string, string> {
  const find = (kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`${kind} ${name} is referenced but not rendered`);
    return found;
  };
  const secretData = (s: K8sObject): Record<string, string> => ({
    ...Object.fromEntries(
      Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString(),
      ]),
    ),
    ...(s.stringData ?? {}),
  });
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find('ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) Object.assign(env, secretData(find('Secret', from.secretRef.name)));
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const value = secretData(find('Secret', ref.name))[ref.key];
      if (value !== undefined) env[e.name] = value;
      else if (!ref.optional) throw new Error(`${e.name}: key ${ref.key} is missing from Secret ${ref.name}`);
    }
  }
  return env;
}

export class LocalPod {
  child!: ChildProcess;
  output = '';
  port = 0;
  readonly tmp: TempDir;
  private exited!: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly container: Container,
    readonly env: Record<string, string>,
  ) {
    this.tmp = makeTempDir(`pod-${name}-`);
  }

  /** The image's paths on this host: /app is the repository, /tmp the pod's own folder. */
  private localise(value: string): string {
    if (value === '/app' || value.startsWith('/app/')) return path.join(REPO_ROOT, value.slice('/app'.length));
    if (value === '/tmp' || value.startsWith('/tmp/')) return path.join(this.tmp.path, value.slice('/tmp'.length));
    return value;
  }

  async start(): Promise<this> {
    this.port = await freePort();
    const env = Object.fromEntries(Object.entries(this.env).map(([k, v]) => [k, this.localise(v)]));
    env.PORT = String(this.port);
    env.PATH = process.env.PATH ?? '/usr/bin:/bin';
    // ENTRYPOINT ["tini", "--", "node"] + args, in WORKDIR /app.
    this.child = spawn(process.execPath, this.container.args, {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.output += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    return this;
  }

  /** Waits until the readiness probe's path answers 200, as the kubelet would before routing to the pod. */
  async ready(timeoutMs = 20_000): Promise<this> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null)
        throw new Error(`${this.name} exited (${this.child.exitCode}):\n${this.output}`);
      const status = await fetch(`${this.url}${this.container.readinessProbe.httpGet.path}`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return this;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  async dispose(): Promise<void> {
    await this.kill('SIGKILL');
    this.tmp.remove();
  }
}

/** One LocalPod per replica of each rendered Deployment, by component. */
export function podsOf(objects: K8sObject[], replicas: (deployment: K8sObject) => number): Record<string, LocalPod[]> {
  const pods: Record<string, LocalPod[]> = {};
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const [container] = d.spec.template.spec.containers as Container[];
    const env = containerEnv(container!, objects);
    const component = d.metadata.labels!['app.kubernetes.io/component']!;
    pods[component] = Array.from({ length: replicas(d) }, (_, i) => new LocalPod(`${component}-${i}`, container!, env));
  }
  return pods;
}
