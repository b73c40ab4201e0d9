// The tool-runner service as deployed: its own process on NATS, answering tool requests in its
// queue group. Tools see only what they declare of the service's environment, and no worker
// outlives a service that is killed outright, not even one stuck in a loop.
import { NatsBus } from '@mozaiks/bus';
import { runtimeStreams } from '@mozaiks/service';
import type { ToolReply, ToolRequest } from '@mozaiks/protocol';
import { processEnded, startNatsServer } from '@mozaiks/testing';
import type { NatsServer } from '@mozaiks/testing';
import { ServiceProcess } from './cluster';
import { FIXTURE_WORKFLOWS, TEST_API_KEY } from './harness';

let nats: NatsServer;
let client: NatsBus;
let service: ServiceProcess;

beforeAll(async () => {
  nats = await startNatsServer();
  client = await NatsBus.connect({ servers: nats.url, name: 'test-executor', streams: runtimeStreams('mozaiks') });
  service = await new ServiceProcess('tool-runner', {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NATS_URL: nats.url,
    WORKFLOWS_DIR: FIXTURE_WORKFLOWS,
    PORT: '0',
    HOST: '127.0.0.1',
    JWT_SECRET: 'service-jwt-secret-0123456789abcdef',
    OPENAI_API_KEY: TEST_API_KEY,
    SENDGRID_API_KEY: 'sg-for-the-declaring-tool',
  }).start();
});

afterAll(async () => {
  await service.kill('SIGKILL');
  await client.drain();
  await nats.dispose();
});

function call(fn: string, timeoutMs = 5000): Promise<ToolReply> {
  const request: ToolRequest = {
    v: 1,
    app_id: 'app_1',
    user_id: 'u',
    chat_id: 'c',
    workflow_id: 'sandboxed',
    file: 'tools.mjs',
    function: fn,
    args: {},
    context: {},
    timeout_ms: timeoutMs,
  };
  return client.request<ToolReply>('mozaiks.tool.app_1.sandboxed', request, { timeoutMs: timeoutMs + 1000 });
}

describe('tool-runner service', () => {
  it('runs a tool with only the variables it declares, and counts the call in /metrics', async () => {
    const reply = await call('whoami');
    expect(reply).toMatchObject({ ok: true, result: { env: { SENDGRID_API_KEY: 'sg-for-the-declaring-tool' } } });
    expect(Object.keys((reply as { result: { env: object } }).result.env)).toEqual(['SENDGRID_API_KEY']);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/tool_calls_total\{workflow_id="sandboxed",outcome="ok"\} 1/);
    expect(metrics).toMatch(/tool_workers\{state="idle"\} 1/);
    expect(metrics).toMatch(/tool_calls_active\{state="running"\} 0/);
    expect(service.output).not.toContain(TEST_API_KEY);
  });

  it('leaves no worker behind when killed outright, even one stuck in a loop', async () => {
    const { result } = (await call('whoami')) as { result: { pid: number } };
    const stuck = call('spin', 60_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    // The same warm worker (same app, workflow, language and variables) took the looping call.
    expect(() => process.kill(result.pid, 0)).not.toThrow();
    try {
      await service.kill('SIGKILL');
      await expect(processEnded(result.pid)).resolves.toBe(true);
    } finally {
      // Should this fail, the spinning worker must not outlive the test run.
      try {
        process.kill(result.pid, 'SIGKILL');
      } catch {
        // Gone, as it should be.
      }
    }
    void stuck;
  }, 20_000);
});
