// The runtime's streams on a real nats-server, as every service connects to them.
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsBus } from '@mozaiks/bus';
import { startNatsServer } from '@mozaiks/testing';
import type { NatsServer } from '@mozaiks/testing';
import { runtimeStreams } from './runtime-bus';

let server: NatsServer;
const opened: NatsBus[] = [];
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  for (const bus of opened) await bus.drain().catch(() => undefined);
  await server.dispose();
});

async function open(name: string, streams = runtimeStreams('mozaiks')): Promise<NatsBus> {
  const bus = await NatsBus.connect({ servers: server.url, name, streams });
  opened.push(bus);
  return bus;
}

describe('the runtime bus', () => {
  it('creates the runtime streams idempotently', async () => {
    await open('a', runtimeStreams('mozaiks'));
    await open('b', runtimeStreams('mozaiks'));
    const jsm = await jetstreamManager((opened.at(-1) as NatsBus).connection);
    const names: string[] = [];
    for await (const s of jsm.streams.list()) names.push(s.config.name);
    expect(names).toEqual(expect.arrayContaining(['MOZAIKS_RUNS', 'MOZAIKS_METERING', 'MOZAIKS_USAGE']));
    const usage = await jsm.streams.info('MOZAIKS_USAGE');
    expect(usage.config.subjects).toEqual(['mozaiks.usage.>']);
  });
});
