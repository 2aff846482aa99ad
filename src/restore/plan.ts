// What a restore will do: which snapshot, which folders (or one path) from it, and where they go. The drive is
// input from outside, so its record only narrows what is restored, never widens it: in place, a restore writes
// only into folders the config has for that state now; anything else needs --path ... --to DIR.
import path from 'node:path';
import { isSameOrInside } from '../config/checked-view.js';
import type { Config, State } from '../config/model.js';
import { newestSnapshot, type Repository, type SnapshotEntry } from '../repo/repository.js';
import { walkDestination } from './destination.js';
import { openSource, type SnapshotSource } from './source.js';

export interface RestoreItem {
  state: string;
  /** The original absolute path (a state's folder, or the --path). */
  original: string;
  /** Where it is in the snapshot, as people read it. */
  shownFrom: string;
  /** The entry in the snapshot, held open (rsync reads it through the handle) until the plan is closed. */
  source: SnapshotSource;
  /** Where it goes: the original path, or the same path under --to. */
  to: string;
  isDirectory: boolean;
  /** The backup's exclude patterns: files they match were never backed up, so an in-place restore leaves them alone. */
  excludes: string[];
}

/** A folder of the snapshot that is not restored, and why. */
export interface SkippedFolder {
  state: string;
  folder: string;
  reason: 'not-in-config' | 'not-in-snapshot';
}

export interface RestorePlan {
  snapshot: SnapshotEntry;
  states: State[];
  items: RestoreItem[];
  skipped: SkippedFolder[];
  /** Snapshots dated in the future (a clock that was ahead): never "latest". */
  future: string[];
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
  /** The snapshot this machine made last on the drive (from its own memory): what "latest" means. */
  madeLast?: string | undefined;
}

/** Picks a snapshot by name, or for "latest" the one this machine made last (never one dated in the future). */
export async function findSnapshot(repo: Repository, id: string, madeLast?: string): Promise<{ snapshot: SnapshotEntry; future: string[] }> {
  const paths = repo.paths;
  const listing = await repo.list(true);
  const future = listing.complete.filter((s) => s.future).map((s) => s.name);
  const found = id === 'latest' ? newestSnapshot(listing, madeLast) : listing.complete.find((s) => s.name === id);
  if (found) return { snapshot: found, future };
  const names = listing.complete.map((s) => s.name);
  throw new Error(
    names.length === 0
      ? `there are no snapshots of host "${path.basename(paths.host)}" on ${paths.root}`
      : id === 'latest'
        ? `every snapshot on ${paths.root} is dated in the future (${names.join(', ')}), so none is "latest": name one with --snapshot`
        : `there is no snapshot "${id}"; the snapshots are: ${names.join(', ')}`,
  );
}

/** Builds the plan, with its sources open (closePlan closes them); throws a message the user can act on. */
export async function planRestore(config: Config, repo: Repository, req: RestoreRequest): Promise<RestorePlan> {
  const { snapshot, future } = await findSnapshot(repo, req.snapshot, req.madeLast);
  const inSnapshot = await statesIn(repo, snapshot);
  for (const name of req.states) {
    if (!inSnapshot.includes(name)) throw new Error(`snapshot ${snapshot.name} has no state "${name}" (it has: ${inSnapshot.join(', ') || 'none'})`);
  }
  const chosen = req.states.length > 0 ? req.states : inSnapshot;
  const plan: RestorePlan = { snapshot, states: [], items: [], skipped: [], future, keep: req.keep, to: req.to };
  try {
    if (req.path) await planPath(config, repo, req, plan, chosen);
    else for (const state of chosen) await planState(config, repo, req, plan, state);
    // A --to must be root's all the way down, before a dry run looks at it or anything is written.
    if (req.to) for (const item of plan.items) await walkDestination(path.dirname(item.to), true);
  } catch (error) {
    await closePlan(plan);
    throw error;
  }
  // Hooks run for the states actually restored (with --path, only the one holding it).
  plan.states = config.states.filter((s) => plan.items.some((i) => i.state === s.name));
  return plan;
}

/** Closes the snapshot handles the plan holds. */
export async function closePlan(plan: RestorePlan): Promise<void> {
  await Promise.all(plan.items.map((i) => i.source.close()));
}

const configFolders = (config: Config, state: string) => config.states.find((s) => s.name === state)?.folders ?? [];
const recordedFolders = (snapshot: SnapshotEntry, state: string) =>
  snapshot.record && Object.hasOwn(snapshot.record.states, state) ? snapshot.record.states[state]?.folders : undefined;
const excludesOf = (config: Config, state: string) => [...config.backup.exclude, ...(config.states.find((s) => s.name === state)?.exclude ?? [])];
const destination = (req: RestoreRequest, original: string) => (req.to ? path.join(req.to, original) : original);

/** A whole state: the folders both the snapshot and the config have for it. */
async function planState(config: Config, repo: Repository, req: RestoreRequest, plan: RestorePlan, state: string): Promise<void> {
  const configured = configFolders(config, state);
  for (const folder of recordedFolders(plan.snapshot, state) ?? configured) {
    if (!configured.includes(folder)) {
      plan.skipped.push({ state, folder, reason: 'not-in-config' });
      continue;
    }
    const source = await openSource(repo, plan.snapshot.name, state, folder);
    if (!source) {
      plan.skipped.push({ state, folder, reason: 'not-in-snapshot' });
      continue;
    }
    plan.items.push(item(config, req, plan, state, folder, source));
    if (source.kind !== 'directory') throw new Error(`${itemShown(plan, state, folder)} is not a directory in the snapshot, so it cannot be restored as folder ${folder}`);
  }
}

/** One path: inside a folder the config has for a state (or, under --to, one the snapshot's record has). */
async function planPath(config: Config, repo: Repository, req: RestoreRequest, plan: RestorePlan, chosen: string[]): Promise<void> {
  const target = req.path as string;
  let outsideConfig: string | undefined;
  for (const state of chosen) {
    const configured = configFolders(config, state);
    const recorded = recordedFolders(plan.snapshot, state);
    const inConfig = configured.filter((f) => !recorded || recorded.includes(f)).some((f) => isSameOrInside(target, f));
    const inRecord = (recorded ?? []).some((f) => isSameOrInside(target, f));
    if (!inConfig && !(req.to && inRecord)) {
      if (inRecord) outsideConfig ??= state;
      continue;
    }
    const source = await openSource(repo, plan.snapshot.name, state, target);
    if (!source) continue;
    plan.items.push(item(config, req, plan, state, target, source));
    return;
  }
  if (outsideConfig) {
    throw new Error(
      `${target} was backed up in state "${outsideConfig}" from a folder the config does not have for that state now, so ` +
        `plugback will not write it back in place; restore it elsewhere with --path ${target} --to DIR`,
    );
  }
  throw new Error(`${target} is not in snapshot ${plan.snapshot.name}; \`plugback versions DRIVE ${target}\` lists the snapshots that hold it`);
}

function item(config: Config, req: RestoreRequest, plan: RestorePlan, state: string, original: string, source: SnapshotSource): RestoreItem {
  return {
    state,
    original,
    shownFrom: itemShown(plan, state, original),
    source,
    to: destination(req, original),
    isDirectory: source.kind === 'directory',
    excludes: excludesOf(config, state),
  };
}

const itemShown = (plan: RestorePlan, state: string, original: string) => path.join(plan.snapshot.dir, state, original);

/** The state directories of a snapshot (its record's, or the directories in it when it has none). */
async function statesIn(repo: Repository, snapshot: SnapshotEntry): Promise<string[]> {
  if (snapshot.record) return Object.keys(snapshot.record.states);
  const dir = await repo.openSnapshot(snapshot.name);
  try {
    return (await dir.entries()).filter((e) => e.kind === 'dir').map((e) => e.name);
  } finally {
    await dir.close();
  }
}

/** Which state of a snapshot holds `target` (an entry opened through the drive's handles); the caller closes it. */
export async function locatePath(
  repo: Repository,
  snapshot: SnapshotEntry,
  target: string,
): Promise<{ state: string; source: SnapshotSource } | undefined> {
  for (const state of await statesIn(repo, snapshot)) {
    const folders = recordedFolders(snapshot, state);
    if (folders && !folders.some((f) => isSameOrInside(target, f))) continue;
    const source = await openSource(repo, snapshot.name, state, target);
    if (source) return { state, source };
  }
  return undefined;
}
