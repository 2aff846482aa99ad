// The shape of what this machine remembers of a drive's last snapshot (kept in the ledger, read by host-memory.ts):
// types only, so the ledger and the memory need not import each other.
import type { SourceMount } from './snapshot-record.js';

export interface FolderMemory {
  /** The folder held at least one entry when the snapshot was made: an empty folder now is suspicious. */
  hadEntries: boolean;
  /** The mount that held it, to notice an unmounted source. */
  mount?: SourceMount | undefined;
}

export interface StateMemory {
  files: number;
  bytes: number;
  folders: Record<string, FolderMemory>;
}

export interface SnapshotMemory {
  snapshot: string;
  completedAt: string;
  states: Record<string, StateMemory>;
}
