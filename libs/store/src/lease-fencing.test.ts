// Fencing across processes: four processes commit to one chat, stealing its lease from each other
// when a holder stalls past it, on SQLite and on MongoDB. The log must hold exactly what was
// acknowledged, numbered 1..N without a gap, and no write of a holder that lost its lease.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mongoTestServerAvailable, startMongoTestServer } from '@mozaiks/testing';
import type { MongoTestServer } from '@mozaiks/testing';
import type { ChurnResult } from './lease-churn.support';
import { expectChurnedLog } from './lease-churn.support';
import { openStore } from './open-store';
import type { StoreOptions } from './open-store';

const PROCESSES = 4;
const COMMITS = Number(process.env.FENCING_COMMITS ?? 1000);
const WORKER = path.join(__dirname, 'lease-churn.worker.ts');

function runWorker(store: StoreOptions, holder: string, ttlMs: number): Promise<ChurnResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WORKER, JSON.stringify({ store, holder, commits: COMMITS, ttlMs })],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChurnResult)
        : reject(new Error(`worker ${holder} exited ${code}: ${err}`)),
    );
  });
}

async function fence(name: string, store: StoreOptions, ttlMs: number): Promise<void> {
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => runWorker(store, `p${i}`, ttlMs)));
  const stores = await openStore(store);
  try {
    const { epochs, refused, takeovers } = await expectChurnedLog(stores, results);
    expect(results.flatMap((r) => r.acknowledged)).toHaveLength(PROCESSES * COMMITS);
    // Leases were really stolen, and the late writes refused.
    expect(takeovers).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    process.stderr.write(
      `fencing on ${name}: ${PROCESSES} processes × ${COMMITS} commits in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `${takeovers} leases taken over, ${refused} late writes refused, ${epochs} epochs, seq 1..${PROCESSES * COMMITS} without a gap\n`,
    );
  } finally {
    await stores.close();
  }
}

describe('fencing across processes', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'mozaiks-fencing-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it(
    `SQLite: ${PROCESSES} processes × ${COMMITS} commits to one chat, leases stolen at random`,
    () => fence('SQLite', { dataDir: dir }, 50),
    180_000,
  );

  const describeIfServer = mongoTestServerAvailable() ? describe : describe.skip;
  describeIfServer('on MongoDB', () => {
    let server: MongoTestServer | undefined;
    beforeAll(async () => (server = await startMongoTestServer()), 30_000);
    afterAll(async () => server?.dispose());
    it(
      `MongoDB: ${PROCESSES} processes × ${COMMITS} commits to one chat, leases stolen at random`,
      () =>
        fence(
          'MongoDB',
          { dataDir: path.join(dir, 'never-written'), mongodbUri: server!.uri, mongodbDatabase: server!.database() },
          150,
        ),
      600_000,
    );
  });
});
