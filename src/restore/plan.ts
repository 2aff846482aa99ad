// What a restore will do: which snapshot, which folders (or one path) from it, and where they go.
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { isSameOrInside } from '../config/checks.js';
import type { Config, State } from '../config/model.js';
import { newestSnapshot, type Repository, type SnapshotEntry } from '../repo/repository.js';

export interface RestoreItem {
  state: string;
  /** The original absolute path (a state's folder, or the --path). */
  original: string;
  /** Where it is in the snapshot. */
  from: string;
  /** Where it goes: the original path, or the same path under --to. */
  to: string;
  isDirectory: boolean;
  /** The backup's exclude patterns: files they match were never backed up, so an in-place restore leaves them alone. */
  excludes: string[];
}

export interface RestorePlan {
  snapshot: SnapshotEntry;
  states: State[];
  items: RestoreItem[];
  /** Keep the current data aside (renamed) before restoring; off with --no-keep. */
  keep: boolean;
  to?: string | undefined;
}

export interface RestoreRequest {
  snapshot: string;
  states: string[];
  path?: string | undefined;
  to?: string | undefined;
  keep: boolean;
}

/** Picks a snapshot by name, or the newest for "latest". */
export async function findSnapshot(repo: Repository, id: string): Promise<SnapshotEntry> {
  const paths = repo.paths;
  const listing = await repo.list(true);
  const { complete } = listing;
  // "latest" is never a snapshot dated in the future (a clock that was ahead once).
  const found = id === 'latest' ? newestSnapshot(listing) : complete.find((s) => s.name === id);
  if (found) return found;
  const names = complete.map((s) => s.name);
  throw new Error(
    names.length === 0
      ? `there are no snapshots of host "${path.basename(paths.host)}" on ${paths.root}`
      : `there is no snapshot "${id}"; the snapshots are: ${names.join(', ')}`,
  );
}

/** Builds the plan; throws with a message the user can act on when a state or path is not in the snapshot. */
export async function planRestore(config: Config, repo: Repository, req: RestoreRequest): Promise<RestorePlan> {
  const snapshot = await findSnapshot(repo, req.snapshot);
  const inSnapshot = await statesIn(snapshot);
  for (const name of req.states) {
    if (!inSnapshot.includes(name)) throw new Error(`snapshot ${snapshot.name} has no state "${name}" (it has: ${inSnapshot.join(', ') || 'none'})`);
  }
  const chosen = req.states.length > 0 ? req.states : inSnapshot;
  const states = config.states.filter((s) => chosen.includes(s.name));
  const destination = (original: string) => (req.to ? path.join(req.to, original) : original);
  const excludes = (state: string) => [...config.backup.exclude, ...(config.states.find((s) => s.name === state)?.exclude ?? [])];
  const items: RestoreItem[] = [];
  if (req.path) {
    const found = await locatePath(snapshot, req.path, chosen);
    if (!found) {
      throw new Error(`${req.path} is not in snapshot ${snapshot.name}; \`plugback versions DRIVE ${req.path}\` lists the snapshots that hold it`);
    }
    items.push({ ...found, original: req.path, to: destination(req.path), excludes: excludes(found.state) });
  } else {
    for (const state of chosen) {
      for (const folder of await foldersOf(snapshot, state)) {
        items.push({
          state,
          original: folder,
          from: path.join(snapshot.dir, state, folder),
          to: destination(folder),
          isDirectory: true,
          excludes: excludes(state),
        });
      }
    }
  }
  // Hooks run for the states actually restored (with --path, only the one holding it).
  const restored = states.filter((s) => items.some((i) => i.state === s.name));
  return { snapshot, states: restored, items, keep: req.keep, to: req.to };
}

/** The state directories of a snapshot. */
async function statesIn(snapshot: SnapshotEntry): Promise<string[]> {
  if (snapshot.record) return Object.keys(snapshot.record.states);
  const entries = await readdir(snapshot.dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/** The folders a state backed up in that snapshot (from its record, which outlives config changes). */
async function foldersOf(snapshot: SnapshotEntry, state: string): Promise<string[]> {
  const recorded = snapshot.record?.states[state]?.folders;
  if (!recorded) throw new Error(`snapshot ${snapshot.name} has no record of the folders of state "${state}"; copy them with cp -a from ${snapshot.dir}/${state}`);
  return recorded;
}

/** Which state of a snapshot holds `target`, and whether it is a directory there. */
export async function locatePath(
  snapshot: SnapshotEntry,
  target: string,
  states?: string[],
): Promise<{ state: string; from: string; isDirectory: boolean } | undefined> {
  for (const state of states ?? (await statesIn(snapshot))) {
    const folders = snapshot.record?.states[state]?.folders;
    if (folders && !folders.some((f) => isSameOrInside(target, f))) continue;
    const from = path.join(snapshot.dir, state, target);
    const info = await lstat(from).catch(() => undefined);
    if (info) return { state, from, isDirectory: info.isDirectory() };
  }
  return undefined;
}
