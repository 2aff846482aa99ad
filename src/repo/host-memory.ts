// What this machine remembers of the last snapshot it completed on each drive, in the ledger (stateDir, root's):
// the interlocks' baseline that does not depend on the drive telling the truth. A damaged, missing or forged
// snapshot.json on the drive can then only make a backup more careful, never switch a check off.
import { readLedger, recordOf, updateLedger } from '../notify/ledger.js';
import type { SnapshotMemory, StateMemory } from './snapshot-memory.js';

export type { FolderMemory, SnapshotMemory, StateMemory } from './snapshot-memory.js';

/** The memory of drive `drive`'s last snapshot; `problem` says why there is none when the ledger cannot be read. */
export async function recallSnapshot(stateDir: string, drive: string): Promise<{ memory?: SnapshotMemory; problem?: string }> {
  try {
    const ledger = await readLedger(stateDir);
    const memory = Object.hasOwn(ledger, drive) ? ledger[drive]?.lastSnapshot : undefined;
    return memory && typeof memory.snapshot === 'string' && typeof memory.states === 'object' ? { memory } : {};
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

/** Records the snapshot just completed, before anything is pruned on its account. */
export async function rememberSnapshot(stateDir: string, drive: string, memory: SnapshotMemory): Promise<void> {
  await updateLedger(stateDir, (ledger) => {
    recordOf(ledger, drive, new Date()).lastSnapshot = memory;
  });
}

/** A state's memory, only when it is really there (state names like "constructor" must not reach Object.prototype). */
export function stateMemory(memory: SnapshotMemory | undefined, state: string): StateMemory | undefined {
  return memory && Object.hasOwn(memory.states, state) ? memory.states[state] : undefined;
}
