// `mozaiks store migrate`: brings the configured store's schema and indexes up to date, or, with
// --from sqlite:<dir> --to mongodb://…, copies every chat of an embedded store into MongoDB.
import path from 'node:path';
import { MONGO_INDEXES, MongoDatabase, SqliteDatabase, copySqliteToMongo, describeMongoUri } from '@mozaiks/store';

export interface MigrateOptions {
  /** `sqlite:<data dir>` to copy from. */
  from?: string;
  /** `mongodb://…` to copy to. */
  to?: string;
  /** The configured store when neither is given. */
  mongodbUri?: string;
  mongodbDatabase: string;
  dataDir: string;
  out: (line: string) => void;
}

/** A usage mistake: said with the command's usage, exit code 2. */
export class MigrateUsageError extends Error {
  override name = 'MigrateUsageError';
}

export async function migrateStore(options: MigrateOptions): Promise<void> {
  const { out } = options;
  if (options.from !== undefined || options.to !== undefined) {
    if (!options.from?.startsWith('sqlite:'))
      throw new MigrateUsageError('--from must be sqlite:<data dir>, e.g. --from sqlite:./.data');
    if (!options.to || !/^mongodb(\+srv)?:\/\//.test(options.to))
      throw new MigrateUsageError('--to must be a mongodb:// connection string');
    const dataDir = path.resolve(options.from.slice('sqlite:'.length) || '.');
    const source = new SqliteDatabase({ dataDir });
    const target = await MongoDatabase.connect({ uri: options.to, database: options.mongodbDatabase });
    try {
      out(
        `copying chats from ${source.file} to MongoDB at ${describeMongoUri(options.to)} (database ${options.mongodbDatabase})`,
      );
      const counts = await copySqliteToMongo(source, target);
      out(
        `copied ${counts.chats} chat(s): ${counts.messages} message(s), ${counts.events} event(s), ${counts.inputs} input(s), ${counts.runs} run(s) unfinished or with usage to publish` +
          (counts.skipped
            ? `; ${counts.skipped} chat(s) left alone because MongoDB already has history of their own`
            : ''),
      );
    } finally {
      await source.close();
      await target.close();
    }
    return;
  }
  if (options.mongodbUri) {
    const db = await MongoDatabase.connect({ uri: options.mongodbUri, database: options.mongodbDatabase });
    try {
      // Connecting creates what is missing, and says what that was.
      const all = Object.values(MONGO_INDEXES).flat().length;
      const created = db.createdIndexes;
      out(
        `MongoDB at ${db.hosts} (database ${options.mongodbDatabase}): ${all} index(es) in place; ${created.length ? `created ${created.join(', ')}` : 'nothing changed'}`,
      );
    } finally {
      await db.close();
    }
    return;
  }
  const { changed } = SqliteDatabase.migrateFile({ dataDir: options.dataDir });
  out(
    `SQLite at ${path.resolve(options.dataDir, 'mozaiks.sqlite')}: ${changed ? 'schema brought up to date' : 'schema up to date, nothing changed'}`,
  );
}
