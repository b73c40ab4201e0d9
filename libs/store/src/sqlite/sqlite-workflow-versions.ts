// Workflow versions in the embedded SQLite store: one row per version, inserted once.
import type { InputRequest } from '../chat-log.js';
import type { VersionFiles, VersionUsage, WaitingChat, WorkflowVersionStore } from '../workflow-version-store.js';
import type { SqliteDatabase } from './sqlite-database.js';

export class SqliteWorkflowVersions implements WorkflowVersionStore {
  constructor(private readonly database: SqliteDatabase) {}

  async saveWorkflowVersion(workflowId: string, version: string, files: VersionFiles): Promise<void> {
    await this.database.write(() =>
      this.database
        .sql('INSERT OR IGNORE INTO workflow_versions (workflow_id, version, files, created_at) VALUES (?, ?, ?, ?)')
        .run(workflowId, version, JSON.stringify(files), new Date().toISOString()),
    );
  }

  async loadWorkflowVersion(workflowId: string, version: string): Promise<VersionFiles | undefined> {
    const row = await this.database.attempt(
      () =>
        this.database
          .sql('SELECT files FROM workflow_versions WHERE workflow_id = ? AND version = ?')
          .get(workflowId, version) as { files: string } | undefined,
    );
    return row && (JSON.parse(row.files) as VersionFiles);
  }

  async listWorkflowVersions(workflowId?: string) {
    return this.database.attempt(
      () =>
        this.database
          .sql(
            'SELECT workflow_id, version, created_at FROM workflow_versions WHERE ? IS NULL OR workflow_id = ? ORDER BY created_at, version',
          )
          .all(workflowId ?? null, workflowId ?? null) as Array<{
          workflow_id: string;
          version: string;
          created_at: string;
        }>,
    );
  }

  async versionUsage(): Promise<VersionUsage[]> {
    return this.database.attempt(
      () =>
        this.database
          .sql(
            'SELECT workflow_id, workflow_version, COUNT(*) AS chats, MIN(COALESCE(updated_at, created_at)) AS oldest_activity FROM chats GROUP BY workflow_id, workflow_version ORDER BY workflow_id, oldest_activity',
          )
          .all() as VersionUsage[],
    );
  }

  async waitingChats(workflowId: string): Promise<WaitingChat[]> {
    const rows = await this.database.attempt(
      () =>
        this.database
          .sql(
            'SELECT app_id, user_id, chat_id, workflow_id, workflow_version, awaiting FROM chats WHERE workflow_id = ? AND awaiting IS NOT NULL',
          )
          .all(workflowId) as Array<{
          app_id: string;
          user_id: string;
          chat_id: string;
          workflow_id: string;
          workflow_version: string | null;
          awaiting: string;
        }>,
    );
    return rows.map(({ workflow_version, awaiting, ...chat }) => ({
      chat,
      workflow_version,
      awaiting: JSON.parse(awaiting) as InputRequest,
    }));
  }
}
