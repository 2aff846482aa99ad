// Where things live on a backup drive. Plain directories, so `ls` and `cp` are enough to get a file back:
//   <root>/plugback/drive.json                         which drive this is
//   <root>/plugback/<host>/snapshots/<timestamp>/      one complete snapshot: <state>/<absolute folder path>
//   <root>/plugback/<host>/snapshots/<timestamp>.incomplete/   an interrupted run, resumed by the next one
//   <root>/plugback/<host>/latest -> snapshots/<timestamp>
//   <root>/plugback/<host>/logs/<timestamp>.log        one JSON-lines log per run
import path from 'node:path';

export interface RepoPaths {
  root: string;
  base: string;
  identity: string;
  host: string;
  snapshots: string;
  latest: string;
  logs: string;
}

/** The paths of one host's repository on a drive mounted (or located) at `root`. */
export function repoPaths(root: string, host: string): RepoPaths {
  const base = path.join(root, 'plugback');
  const hostDir = path.join(base, host);
  return {
    root,
    base,
    identity: path.join(base, 'drive.json'),
    host: hostDir,
    snapshots: path.join(hostDir, 'snapshots'),
    latest: path.join(hostDir, 'latest'),
    logs: path.join(hostDir, 'logs'),
  };
}

export const INCOMPLETE_SUFFIX = '.incomplete';
export const DELETING_SUFFIX = '.deleting';
/** The record of a snapshot, inside it next to the state directories (state names cannot contain a dot). */
export const SNAPSHOT_RECORD = 'snapshot.json';

const NAME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** A snapshot's name: its UTC start time, like 2026-11-22T101500Z, sortable as text. */
export function snapshotName(time: Date): string {
  return time.toISOString().replace(/:/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** The time in a snapshot name, or undefined for anything else in the folder. */
export function parseSnapshotName(name: string): Date | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const time = new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
  return snapshotName(time) === name ? time : undefined;
}
