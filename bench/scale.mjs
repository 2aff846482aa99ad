#!/usr/bin/env node
// scale: what plugback costs at hundreds of thousands of files, on loop-mounted ext4 and btrfs images, against
// what the peers do (bare `rsync -aHAX --link-dest` on ext4). In rounds that rotate which side goes first, it
// times a first snapshot, an incremental one after 1% of the files changed, and the removal of one old snapshot
// (`rm -rf` for the baseline, `plugback forget` for plugback), and reads plugback's peak RSS while it syncs.
//
// A benchmark, not a test: it prints figures and asserts nothing. Root only (it mounts image files; never a
// host block device). Exit 0 figures printed, 1 a run failed, 2 bad usage or dist/main.js missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { benchOptions } from './lib/options.mjs';
import { baselineSnapshot, newBaselineArea } from './lib/baseline.mjs';
import { expectStatus, run, settle, setLogDir } from './lib/child-runs.mjs';
import { human, median, ratio } from './lib/figures.mjs';
import { canMake, mountedImage, unmountImages } from './lib/images.mjs';
import { DRIVE, HOST, newPlugbackTarget, PLUGBACK_MAIN, plugbackSnapshotWithRss, requireBuilt, STATE, warningRuns } from './lib/plugback-side.mjs';
import { changeFiles, GiB, MiB, planTree } from './lib/tree-data.mjs';
import { BenchError, ensureTree, prepareWorkDir, removeTree } from './lib/work-dir.mjs';

const USAGE = `usage: node bench/scale.mjs [options]      (as root; npm run build first)
  --files N      files in the generated tree (default 300000; the issue's other size is 1000000)
  --size-mb M    total size of the tree in MiB (default 2700)
  --rounds N     rounds (default 2); each side goes first in turn
  --seed S       seed for the tree and the changed files (default 1)
  --dir DIR      work directory (default ${join(tmpdir(), 'plugback-bench-scale')}); the images are made in it
  --keep         keep the work directory (the tree and the unmounted images) afterwards
  --help
example: node bench/scale.mjs --files 20000 --size-mb 200 --rounds 2     (a quick try, about a minute)`;

function options() {
  const { values, int } = benchOptions('scale', USAGE, {
    files: { type: 'string', default: '300000' },
    'size-mb': { type: 'string', default: '2700' },
    rounds: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    dir: { type: 'string', default: join(tmpdir(), 'plugback-bench-scale') },
    keep: { type: 'boolean', default: false },
  });
  return { files: int('files'), sizeMb: int('size-mb'), rounds: int('rounds'), seed: int('seed'), dir: resolve(values.dir), keep: values.keep };
}

function usage(message) {
  console.error(`scale: ${message}\n${USAGE}`);
  process.exit(2);
}

// ------------------------------------------------------------------ the three sides

/**
 * Before a removal: synced, and the kernel's cached dentries and inodes dropped (the whole machine's: root), so
 * the snapshot removed is "old", as on a drive plugged in again, not the one rsync just walked. (btrfs pays for a
 * hot one: deleting a subvolume prunes its cached dentries, about 0.5 s per 200,000.)
 */
function settleCold() {
  settle();
  writeFileSync('/proc/sys/vm/drop_caches', '2\n');
}

function rsyncSide(mnt) {
  return {
    label: 'rsync --link-dest, ext4',
    start: (round) => ({ area: newBaselineArea(mnt, `r${round}`, HOST) }),
    // Timed alone, without its flush, as the peers run it.
    snapshot: async (t, label) => ({ seconds: baselineSnapshot(t.area, t.source, STATE, label).rsync, snapshot: t.area.last }),
    remove: (t, snapshot, label) => {
      settleCold();
      const r = run(label, 'rm', ['-rf', '--', snapshot]);
      expectStatus(r, [0], `rm -rf (${label})`);
      return r.seconds;
    },
  };
}

function plugbackSide(fs, mnt, work) {
  return {
    label: `plugback, ${fs}`,
    start: (round, source) => ({ pb: newPlugbackTarget({ work, source, name: `${fs}-r${round}`, target: join(mnt, `r${round}`) }) }),
    snapshot: async (t, runLabel) => {
      const r = await plugbackSnapshotWithRss(t.pb, runLabel);
      peakRss = Math.max(peakRss, r.peakRss);
      return { seconds: r.seconds, checksumSeconds: r.checksumSeconds, snapshot: join(t.pb.target, 'plugback', HOST, 'snapshots', newestSnapshot(t.pb)) };
    },
    remove: (t, snapshot, runLabel) => {
      settleCold();
      const r = run(runLabel, process.execPath, [PLUGBACK_MAIN, 'forget', DRIVE, basename(snapshot), '--config', t.pb.config]);
      expectStatus(r, [0], `plugback forget (${runLabel})`);
      return r.seconds;
    },
  };
}

// ------------------------------------------------------------------ rounds

function newestSnapshot(pb) {
  return readdirSync(join(pb.target, 'plugback', HOST, 'snapshots')).filter((n) => /^\d{4}-\d{2}-\d{2}T\d{6}Z$/.test(n)).sort().pop();
}

let peakRss = 0;

async function main() {
  const opts = options();
  if (process.getuid?.() !== 0) usage('it mounts image files: run it as root');
  requireBuilt('scale');
  const forget = /plugback forget/.test(spawnSync(process.execPath, [PLUGBACK_MAIN, 'forget', '--help'], { encoding: 'utf8' }).stdout ?? '');
  let code = 0;
  let ours = false;
  try {
    prepareWorkDir(opts.dir);
    ours = true;
    setLogDir(join(opts.dir, 'logs'));
    const params = { files: opts.files, sizeMb: opts.sizeMb, seed: opts.seed };
    const plan = planTree(params);
    const source = ensureTree(opts.dir, params, plan);
    // Every round adds a full copy and an incremental one to each image; plus room for metadata.
    const bytes = Math.ceil(((plan.totalBytes + plan.entries.length * 4096) * (opts.rounds + 1)) / GiB + 2) * GiB;
    const sides = [rsyncSide(mountedImage(opts.dir, 'rsync-ext4', 'ext4', bytes)), plugbackSide('ext4', mountedImage(opts.dir, 'plugback-ext4', 'ext4', bytes), opts.dir)];
    if (canMake('btrfs')) sides.push(plugbackSide('btrfs', mountedImage(opts.dir, 'plugback-btrfs', 'btrfs', bytes), opts.dir));
    else console.log('note: mkfs.btrfs is not installed (apt-get install btrfs-progs): no btrfs column');
    const times = sides.map(() => ({ first: [], incremental: [], remove: [], checksumsFirst: [], checksumsIncremental: [] }));

    for (let round = 0; round < opts.rounds; round++) {
      // Rotate who goes first, so no side always meets the warmest page cache.
      const order = sides.map((_, i) => (i + round) % sides.length);
      const targets = sides.map((side) => ({ ...side.start(round, source), source }));
      const firsts = [];
      for (const i of order) firsts[i] = await sides[i].snapshot(targets[i], `r${round}-first-${i}`);
      const changed = changeFiles(source, plan, opts.seed, round + 1);
      const incs = [];
      for (const i of order) incs[i] = await sides[i].snapshot(targets[i], `r${round}-incr-${i}`);
      const removes = [];
      for (const i of order) {
        if (i > 0 && !forget) continue;
        removes[i] = sides[i].remove(targets[i], firsts[i].snapshot, `r${round}-remove-${i}`);
      }
      sides.forEach((side, i) => {
        times[i].first.push(firsts[i].seconds);
        times[i].incremental.push(incs[i].seconds);
        if (removes[i] !== undefined) times[i].remove.push(removes[i]);
        if (firsts[i].checksumSeconds !== undefined) times[i].checksumsFirst.push(firsts[i].checksumSeconds);
        if (incs[i].checksumSeconds !== undefined) times[i].checksumsIncremental.push(incs[i].checksumSeconds);
        console.log(`round ${round + 1}/${opts.rounds} ${side.label.padEnd(24)} first ${firsts[i].seconds.toFixed(2)} s  incremental ${incs[i].seconds.toFixed(2)} s (${changed} changed)  remove one ${removes[i]?.toFixed(2) ?? '-'} s`);
      });
    }
    report(opts, plan, sides, times, forget);
  } catch (err) {
    if (!(err instanceof BenchError)) throw err;
    console.error(`scale: ${err.message}`);
    code = 1;
  } finally {
    unmountImages();
    if (ours && !opts.keep) removeTree(opts.dir);
    else if (ours) console.log(`kept ${opts.dir}`);
  }
  process.exit(code);
}

function report(opts, plan, sides, times, forget) {
  const rsync = rsyncVersion();
  console.log(`\nscale: ${plan.entries.length} files, ${human(plan.totalBytes)}, ${opts.rounds} rounds, rsync ${rsync}; medians, ratio = side / rsync --link-dest on ext4`);
  for (const phase of ['first', 'incremental', 'remove']) {
    const base = median(times[0][phase]);
    const cells = sides.map((side, i) => {
      const m = times[i][phase].length ? median(times[i][phase]) : undefined;
      if (m === undefined) return `${side.label}: -`;
      return i === 0 ? `${side.label}: ${m.toFixed(2)} s` : `${side.label}: ${m.toFixed(2)} s (ratio ${ratio(m / base)})`;
    });
    console.log(`${phase.padEnd(12)} ${cells.join('   ')}`);
  }
  // The checksums step is inside plugback's runs above: its share says what recording them costs.
  sides.forEach((side, i) => {
    if (times[i].checksumsIncremental.length === 0) return;
    const share = (step, whole) => `${median(step).toFixed(2)} s (${((median(step) / median(whole)) * 100).toFixed(0)}% of the run)`;
    console.log(`checksums step, ${side.label}: first ${share(times[i].checksumsFirst, times[i].first)}, incremental ${share(times[i].checksumsIncremental, times[i].incremental)}`);
  });
  if (!forget) console.log('note: this build has no `plugback forget`, so plugback\'s removal of one snapshot is not timed');
  console.log(`plugback peak RSS while syncing: ${(peakRss / MiB).toFixed(1)} MiB`);
  if (warningRuns() > 0) console.log(`note: ${warningRuns()} plugback run(s) completed with warnings (exit 3)`);
}

function rsyncVersion() {
  return /version\s+(\S+)/.exec(spawnSync('rsync', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? 'unknown';
}

await main();
