// A rehearsal of a Helm release on real processes, once rendered by Helm 4 and once by Helm 3:
// the chart is rendered, each Deployment's pods are started here with the command and environment
// Kubernetes would give them (nats-server and FerretDB standing in for their Services), and chats
// run end to end through them: the `helm test` hook's own command, tool calls through the
// tool-runner pods, an executor killed with SIGKILL mid-run, a gateway drained with SIGTERM.
import { spawn } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsBus } from '@mozaiks/bus';
import { runtimeStreams } from '@mozaiks/service';
import type { CompletionRequestBody } from '@mozaiks/llm';
import {
  WsTestClient,
  mintToken,
  mongoTestServerAvailable,
  startMongoTestServer,
  startNatsServer,
  startScriptedLlm,
} from '@mozaiks/testing';
import type { MongoTestServer, NatsServer, ScriptedLlm, TestEvent } from '@mozaiks/testing';
import { REPO_ROOT } from '../harness';
import { CI_VALUES, HELMS, component, ofKind, renderChart } from './chart';
import type { K8sObject } from './chart';
import { LocalPod, containerEnv, podsOf } from './pods';

const JWT_SECRET = 'rehearsal-secret-0123456789abcdef0123456789';
const maybe = mongoTestServerAvailable() ? describe : describe.skip;
const token = (chat: string) => mintToken({ key: JWT_SECRET, claims: { chat_id: chat, workflow_id: 'hello' } });

/** The hello workflow's model: asks for the clock tool, then answers with what it said. */
function clockModel(delayMs: number) {
  return (request: CompletionRequestBody) => {
    const last = request.messages[request.messages.length - 1]!;
    if (last.role === 'tool')
      return {
        content: `The clock says ${String(last.content).slice(0, 60)}`,
        usage: { prompt_tokens: 40, completion_tokens: 8 },
        delay_ms: delayMs,
      };
    return {
      tool_calls: [{ name: 'current_time', arguments: '{}' }],
      usage: { prompt_tokens: 30, completion_tokens: 5 },
      delay_ms: delayMs,
    };
  };
}

maybe.each(HELMS.map((h) => [h.name, h] as const))(
  'a Helm release rehearsed on real processes, rendered by %s',
  (_name, helm) => {
    let nats: NatsServer;
    let mongo: MongoTestServer;
    let llm: ScriptedLlm;
    let objects: K8sObject[];
    let pods: Record<string, LocalPod[]>;
    let observer: NatsBus;
    const billed: Array<{ event_id: string; chat_id: string }> = [];

    beforeAll(async () => {
      [nats, mongo, llm] = await Promise.all([
        startNatsServer(),
        startMongoTestServer().then((m) => m!),
        startScriptedLlm(),
      ]);
      llm.setFallback(clockModel(0));
      objects = renderChart({
        helm,
        valuesFiles: [CI_VALUES[0]!],
        set: {
          'nats.url': nats.url,
          'nats.monitoringEndpoint': 'nats-monitoring:8222',
          'secrets.mongodbUri': mongo.uri,
          'secrets.jwtSecret': JWT_SECRET,
          'secrets.openaiApiKey': 'sk-rehearsal-key',
          'config.openaiApiBase': llm.url,
          'config.mongodbDatabase': mongo.database(),
          'config.shutdownGraceSeconds': 5,
          // A dead executor's chats are taken over in seconds, not the default 15 s.
          'executor.env.CHAT_LEASE_SECONDS': '2',
          'executor.env.RUN_ACK_WAIT_SECONDS': '2',
          'executor.keda.enabled': true,
          'executor.keda.minReplicas': 2,
        },
      });
      pods = podsOf(
        objects,
        (d) =>
          d.spec.replicas ??
          ofKind(objects, 'ScaledObject').find((s) => s.spec.scaleTargetRef.name === d.metadata.name)!.spec
            .minReplicaCount,
      );
      await Promise.all(
        Object.values(pods)
          .flat()
          .map(async (p) => (await p.start()).ready()),
      );
      observer = await NatsBus.connect({
        servers: nats.url,
        name: 'billing-observer',
        streams: runtimeStreams('mozaiks'),
      });
      observer.subscribe<{ event_id: string; chat_id: string }>('mozaiks.usage.>', (m) => void billed.push(m.data));
    }, 90_000);

    afterAll(async () => {
      await Promise.all(
        Object.values(pods ?? {})
          .flat()
          .map((p) => p.dispose()),
      );
      await observer?.drain().catch(() => undefined);
      await Promise.all([llm?.close(), nats?.dispose(), mongo?.dispose()]);
    });

    it('starts every pod of every Deployment from the rendered command and environment', () => {
      expect(Object.fromEntries(Object.entries(pods).map(([c, p]) => [c, p.length]))).toEqual({
        gateway: 2,
        executor: 2,
        'tool-runner': 2,
        'usage-emitter': 1,
      });
      // Secrets only where the chart sends them: the tool-runner has none of them.
      const tools = pods['tool-runner']![0]!.env;
      for (const key of ['JWT_SECRET', 'OPENAI_API_KEY', 'MONGODB_URI']) expect(tools[key]).toBeUndefined();
      expect(pods.executor![0]!.env.MONGODB_URI).toBe(mongo.uri);
    });

    it("passes the helm test hook: its pod's command runs a chat turn through the gateway Service", async () => {
      const [testPod] = ofKind(objects, 'Pod');
      const container = testPod!.spec.containers[0];
      const env = { ...containerEnv(container, objects), PATH: process.env.PATH! };
      // The gateway Service's DNS name stands for a gateway pod.
      const args = (container.args as string[]).map((a) =>
        a.replace(/^http:\/\/[a-z0-9-]+-gateway:\d+$/, pods.gateway![0]!.url),
      );
      expect(args).not.toEqual(container.args);
      const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
      expect(out.stderr).toBe('');
      expect(out.stdout).toMatch(/^Assistant: The clock says /m);
      expect(out.stdout).toMatch(/run completed in \d+ ms/);
      expect(out.code).toBe(0);
    });

    it('finishes every chat, tools included, when an executor is killed with SIGKILL mid-run', async () => {
      llm.setFallback(clockModel(700));
      const chats = ['chat_r0', 'chat_r1', 'chat_r2', 'chat_r3'];
      const clients = await Promise.all(
        chats.map(async (chat, i) =>
          WsTestClient.connect(`${pods.gateway![i % 2]!.url.replace('http', 'ws')}/ws/chat?token=${await token(chat)}`),
        ),
      );
      clients.forEach((c, i) => c.send({ type: 'user_message', content: `what time is it? (${chats[i]})` }));
      const runs = (pod: LocalPod, what: RegExp) => (pod.output.match(what) ?? []).length;
      const midRun = (pod: LocalPod) =>
        runs(pod, /workflow execution started/g) > runs(pod, /workflow execution finished/g);
      // The victim is whichever executor is running one of these chats first (NATS decides who
      // takes each; either may have served the helm test's chat before).
      const deadline = Date.now() + 15_000;
      while (!pods.executor!.some(midRun) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const victim = pods.executor!.find(midRun) ?? pods.executor![0]!;
      const survivor = pods.executor!.find((p) => p !== victim)!;
      const count = (what: RegExp) => runs(victim, what);
      expect(await victim.kill('SIGKILL')).toBeNull();
      // It was cut off in the middle of a run, which the other executor then finished.
      expect(count(/workflow execution started/g)).toBeGreaterThan(count(/workflow execution finished/g));
      const done = await Promise.all(
        clients.map((c) => c.waitFor((e: TestEvent) => e.type === 'workflow_complete', { timeoutMs: 45_000 })),
      );
      expect(done.map((e) => e.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
      for (const c of clients) {
        expect(c.events.filter((e) => e.type === 'agent_message').map((e) => e.content)).toEqual([
          expect.stringMatching(/^The clock says /),
        ]);
        expect(c.events.filter((e) => e.type === 'tool_result').length).toBeGreaterThanOrEqual(1);
      }
      await Promise.all(clients.map((c) => c.waitForType('usage_update', { timeoutMs: 15_000 })));
      await Promise.all(clients.map((c) => c.close()));
      // Billing saw each chat once (and the helm test's chat).
      const until = Date.now() + 10_000;
      while (new Set(billed.map((b) => b.chat_id)).size < 5 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 100));
      for (const chat of chats) expect(billed.filter((b) => b.chat_id === chat)).toHaveLength(1);
      // What the chart's alerts and dashboard read, from the pod that took over.
      const metrics = await (await fetch(`${survivor.url}/metrics`)).text();
      expect(metrics).toContain('runtime_ready{service="executor"} 1');
      expect(metrics).toMatch(/llm_calls_total\{model="gpt-4o-mini",outcome="ok"\} [1-9]/);
      expect(metrics).toMatch(/^run_queue_pending 0$/m);
    }, 90_000);

    it('points KEDA at a consumer that exists on the real NATS, with the run queue drained', async () => {
      const [scaled] = ofKind(objects, 'ScaledObject');
      const { stream, consumer } = scaled!.spec.triggers[0].metadata;
      const info = await (await jetstreamManager(observer.connection)).consumers.info(stream, consumer);
      expect(info.config.filter_subject).toBe('mozaiks.run.*.*');
      expect(info.num_pending).toBe(0);
    });

    it("drains a gateway on SIGTERM: its sockets are asked to reconnect elsewhere (1012) and it exits 0 within the pod's grace", async () => {
      const gateway = pods.gateway![1]!;
      const client = await WsTestClient.connect(
        `${gateway.url.replace('http', 'ws')}/ws/chat?token=${await token('chat_drain')}`,
      );
      const grace = ofKind(objects, 'Deployment').find((d) => component(d) === 'gateway')!.spec.template.spec
        .terminationGracePeriodSeconds as number;
      const started = Date.now();
      expect(await gateway.kill('SIGTERM')).toBe(0);
      expect(Date.now() - started).toBeLessThan(grace * 1000);
      await client.closed();
      expect(client.closeCode).toBe(1012);
    });
  },
);
