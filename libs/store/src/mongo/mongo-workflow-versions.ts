// Workflow versions on MongoDB: one document per version in `workflow_versions`, inserted once.
// A chat's version is on its log's newest step (each step carries it forward), so the operators'
// questions read the log's heads: one pass over the steps, without their messages or events.
import type { ChatRef } from '../chat-log.js';
import type { VersionFiles, VersionUsage, WaitingChat, WorkflowVersionStore } from '../workflow-version-store.js';
import { chatKey, isDuplicateKey } from './mongo-database.js';
import type { MongoDatabase, StepDoc } from './mongo-database.js';

type Head = Pick<StepDoc, 'app_id' | 'user_id' | 'chat_id' | 'step' | 'created_at' | 'workflow_version' | 'awaiting'>;

export class MongoWorkflowVersions implements WorkflowVersionStore {
  constructor(private readonly database: MongoDatabase) {}

  async saveWorkflowVersion(workflowId: string, version: string, files: VersionFiles): Promise<void> {
    try {
      await this.database.workflowVersions.insertOne({
        _id: `${workflowId}@${version}`,
        workflow_id: workflowId,
        version,
        files: JSON.stringify(files),
        created_at: new Date().toISOString(),
      });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
  }

  async loadWorkflowVersion(workflowId: string, version: string): Promise<VersionFiles | undefined> {
    const doc = await this.database.workflowVersions.findOne({ _id: `${workflowId}@${version}` });
    return doc ? (JSON.parse(doc.files) as VersionFiles) : undefined;
  }

  async listWorkflowVersions(workflowId?: string) {
    const docs = await this.database.workflowVersions
      .find(workflowId ? { workflow_id: workflowId } : {}, { projection: { files: 0 } })
      .toArray();
    return docs
      .map(({ workflow_id, version, created_at }) => ({ workflow_id, version, created_at }))
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.version.localeCompare(b.version));
  }

  async versionUsage(): Promise<VersionUsage[]> {
    const [chats, heads] = await Promise.all([this.chats(), this.heads()]);
    const usage = new Map<string, VersionUsage>();
    for (const chat of chats) {
      const head = heads.get(chatKey(chat));
      const version = head?.workflow_version ?? null;
      const activity = head ? head.created_at.toISOString() : chat.created_at;
      const key = `${chat.workflow_id}\0${version}`;
      const entry = usage.get(key);
      if (!entry)
        usage.set(key, {
          workflow_id: chat.workflow_id,
          workflow_version: version,
          chats: 1,
          oldest_activity: activity,
        });
      else {
        entry.chats++;
        if (activity < entry.oldest_activity) entry.oldest_activity = activity;
      }
    }
    return [...usage.values()].sort(
      (a, b) => a.workflow_id.localeCompare(b.workflow_id) || a.oldest_activity.localeCompare(b.oldest_activity),
    );
  }

  async waitingChats(workflowId: string): Promise<WaitingChat[]> {
    const [chats, heads] = await Promise.all([this.chats(workflowId), this.heads()]);
    return chats.flatMap((chat) => {
      const head = heads.get(chatKey(chat));
      return head?.awaiting ? [{ chat, workflow_version: head.workflow_version ?? null, awaiting: head.awaiting }] : [];
    });
  }

  private async chats(workflowId?: string): Promise<Array<ChatRef & { created_at: string }>> {
    const docs = await this.database.chats.find(workflowId ? { workflow_id: workflowId } : {}).toArray();
    return docs.map(({ app_id, user_id, chat_id, workflow_id, created_at }) => ({
      app_id,
      user_id,
      chat_id,
      workflow_id,
      created_at,
    }));
  }

  /** Each chat's newest step. */
  private async heads(): Promise<Map<string, Head>> {
    const heads = new Map<string, Head>();
    const cursor = this.database.log.find(
      {},
      { projection: { app_id: 1, user_id: 1, chat_id: 1, step: 1, created_at: 1, workflow_version: 1, awaiting: 1 } },
    );
    for await (const step of cursor as AsyncIterable<Head>) {
      const key = chatKey(step);
      if ((heads.get(key)?.step ?? 0) < step.step) heads.set(key, step);
    }
    return heads;
  }
}
