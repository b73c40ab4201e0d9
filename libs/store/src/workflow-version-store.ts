// The workflow versions a store keeps: each version's files, written once under its content hash,
// and what operators ask of them (which versions chats are on, which chats wait on the user).
import type { ChatRef, InputRequest } from './chat-log.js';

/** A version's files: path inside the workflow folder → text. */
export type VersionFiles = Record<string, string>;

/** Chats of one workflow on one version. */
export interface VersionUsage {
  workflow_id: string;
  /** Null for chats that have not run yet, or ran before versions were recorded. */
  workflow_version: string | null;
  chats: number;
  /** The least recent last activity among them (ISO 8601). */
  oldest_activity: string;
}

/** A chat left waiting on its user (an input request or a UI tool call), with the version it runs. */
export interface WaitingChat {
  chat: ChatRef;
  workflow_version: string | null;
  awaiting: InputRequest;
}

export interface WorkflowVersionStore {
  /** Stores a version's files; a version stored already is left as it is. */
  saveWorkflowVersion(workflowId: string, version: string, files: VersionFiles): Promise<void>;
  /** A stored version's files, or undefined. */
  loadWorkflowVersion(workflowId: string, version: string): Promise<VersionFiles | undefined>;
  /** The versions stored for a workflow (or every workflow), oldest first. */
  listWorkflowVersions(
    workflowId?: string,
  ): Promise<Array<{ workflow_id: string; version: string; created_at: string }>>;
  /** Chats per workflow and version. Reads every chat: for operators, not for the hot path. */
  versionUsage(): Promise<VersionUsage[]>;
  /** Chats of `workflowId` waiting on their user. Reads every chat of it: for operators. */
  waitingChats(workflowId: string): Promise<WaitingChat[]>;
}
