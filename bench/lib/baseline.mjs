// The baseline the benchmarks compare plugback with: what the peers do, bare `rsync -aHAX --link-dest` into an
// area laid out like plugback's, timed alone and followed by `sync -f`.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expectStatus, run, settle, waitForFreshSecond } from './child-runs.mjs';

// The baseline area mirrors plugback's layout:
// <root>/plugback/<host>/snapshots/<timestamp>/<state>/<source abs path>.
export function newBaselineArea(work, name, host) {
  const root = join(work, `target-rsync-${name}`);
  const snapshots = join(root, 'plugback', host, 'snapshots');
  mkdirSync(snapshots, { recursive: true });
  return { root, snapshots, last: undefined };
}

// The command plugback should cost no more than, timed alone ("rsync") and
// followed by `sync -f` ("rsync+sync"), since plugback also flushes its snapshot.
export function baselineSnapshot(area, source, state, label) {
  waitForFreshSecond(area);
  const dest = join(area.snapshots, snapshotName(new Date()));
  mkdirSync(dest);
  settle();
  const args = ['-aHAX', '--numeric-ids', '--relative'];
  if (area.last) args.push(`--link-dest=${join(area.last, state)}`);
  args.push(`${source}/`, `${join(dest, state)}/`);
  const copy = run(label, 'rsync', args);
  expectStatus(copy, [0], `rsync (${label})`);
  const flush = run(`${label}-sync`, 'sync', ['-f', dest]);
  area.lastEnd = Date.now();
  expectStatus(flush, [0], `sync -f (${label})`);
  area.last = dest;
  return { rsync: copy.seconds, rsyncSync: copy.seconds + flush.seconds };
}

// Same shape as plugback's names, e.g. 2026-11-22T101500Z.
export function snapshotName(date) {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '');
}
