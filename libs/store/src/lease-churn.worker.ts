// One process of the fencing test: churns the chat's lease with the others and prints what the
// store acknowledged, as one JSON line. Usage: node --import tsx lease-churn.worker.ts <json options>
import { churn } from './lease-churn.support';
import { openStore } from './open-store';

async function main(): Promise<void> {
  const { store, holder, commits, ttlMs } = JSON.parse(process.argv[2]!) as {
    store: { dataDir: string; mongodbUri?: string; mongodbDatabase?: string };
    holder: string;
    commits: number;
    ttlMs: number;
  };
  const stores = await openStore(store);
  try {
    const result = await churn(stores, { holder, commits, ttlMs });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await stores.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
