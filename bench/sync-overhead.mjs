#!/usr/bin/env node
// sync-overhead: how much slower is `plugback run` than the bare rsync
// command doing the same copy? Measured for (a) a first snapshot into an
// empty target and (b) an incremental snapshot with 1% of the files changed.
//
// This is a benchmark, not a test: it prints figures and asserts nothing.
// Exit codes: 0 figures printed, 1 a run failed (nothing to compare),
// 2 bad usage or `dist/main.js` missing.
//
// Only Node's standard library is used, so it runs from a bare checkout
// after `npm run build`. See bench/README.md.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchOptions } from './lib/options.mjs';
import { baselineSnapshot, newBaselineArea } from './lib/baseline.mjs';
import { setLogDir } from './lib/child-runs.mjs';
import { human, printRound, summaryLine } from './lib/figures.mjs';
import { HOST, newPlugbackTarget, plugbackSnapshot, requireBuilt, STATE, warningRuns } from './lib/plugback-side.mjs';
import { changeFiles, planTree, TARGET_RATIO } from './lib/tree-data.mjs';
import { BenchError, ensureTree, prepareWorkDir, removeTree } from './lib/work-dir.mjs';

const USAGE = `usage: node bench/sync-overhead.mjs [options]
  --rounds N     timed rounds per scenario (default 4; keep it even, so each side runs first equally often)
  --files N      number of files in the generated tree (default 50000)
  --size-mb M    total size of the tree in MiB (default 1024)
  --seed S       seed for the generated tree and the changed files (default 1)
  --dir DIR      work directory (default ${join(tmpdir(), 'plugback-bench')})
  --keep         keep the work directory (and so the generated tree) afterwards
  --same-priority  run plugback's rsync at the baseline's priority (nice: 0, ioClass: none), to
                 separate plugback's own overhead from the cost of its default politeness
  --help`;

// ---------------------------------------------------------------- options

function parseOptions(argv) {
  const { values, int } = benchOptions('sync-overhead', USAGE, {
    rounds: { type: 'string', default: '4' },
    files: { type: 'string', default: '50000' },
    'size-mb': { type: 'string', default: '1024' },
    seed: { type: 'string', default: '1' },
    dir: { type: 'string', default: join(tmpdir(), 'plugback-bench') },
    keep: { type: 'boolean', default: false },
    'same-priority': { type: 'boolean', default: false },
  }, argv);
  return { rounds: int('rounds'), files: int('files'), sizeMb: int('size-mb'), seed: int('seed'), dir: resolve(values.dir), keep: values.keep, samePriority: values['same-priority'] };
}

let samePriority = false;
const newTarget = (work, source, name) => newPlugbackTarget({ work, source, name, samePriority });

// ---------------------------------------------------------------- rounds

// Times one round of both sides. The order alternates (ABBA over pairs of
// rounds) so that neither side always gets the warmer page cache.
function timeRound(i, plugbackSide, baselineSide) {
  const plugbackFirst = i % 2 === 0;
  let pb;
  let bl;
  if (plugbackFirst) {
    pb = plugbackSide();
    bl = baselineSide();
  } else {
    bl = baselineSide();
    pb = plugbackSide();
  }
  return { plugbackFirst, plugback: pb, rsync: bl.rsync, rsyncSync: bl.rsyncSync };
}

function benchFirstSnapshot(ctx) {
  const { work, source, rounds } = ctx;
  console.log('first snapshot: warm-up (untimed)');
  let pb = newTarget(work, source, 'first-warmup');
  let bl = newBaselineArea(work, 'first-warmup', HOST);
  plugbackSnapshot(pb, 'first-warmup-plugback');
  baselineSnapshot(bl, source, STATE, 'first-warmup-rsync');
  compareCounts(ctx, pb, bl);

  const results = [];
  for (let i = 0; i < rounds; i++) {
    // Earlier rounds' copies stay until the work directory goes (about 2 GiB a round): deleting them here
    // made the disk trim freed blocks during the next timed run, penalising whichever side ran first.
    pb = newTarget(work, source, `first-${i + 1}`);
    bl = newBaselineArea(work, `first-${i + 1}`, HOST);
    const r = timeRound(
      i,
      () => plugbackSnapshot(pb, `first-${i + 1}-plugback`),
      () => baselineSnapshot(bl, source, STATE, `first-${i + 1}-rsync`),
    );
    printRound('first', i, rounds, r);
    results.push(r);
  }
  // The last round's targets each hold one full snapshot: the incremental
  // scenario builds on them instead of copying everything once more.
  return { results, pb, bl };
}

function benchIncremental(ctx, pb, bl) {
  const { source, plan, seed, rounds } = ctx;
  console.log('incremental 1%: warm-up (untimed)');
  let changed = changeFiles(source, plan, seed, 0);
  plugbackSnapshot(pb, 'incr-warmup-plugback');
  baselineSnapshot(bl, source, STATE, 'incr-warmup-rsync');

  const results = [];
  for (let i = 0; i < rounds; i++) {
    // Both sides snapshot the same source, so they see the same changed files.
    changed = changeFiles(source, plan, seed, i + 1);
    const r = timeRound(
      i,
      () => plugbackSnapshot(pb, `incr-${i + 1}-plugback`),
      () => baselineSnapshot(bl, source, STATE, `incr-${i + 1}-rsync`),
    );
    printRound('incr', i, rounds, r, `${changed} files changed`);
    results.push(r);
  }
  compareCounts(ctx, pb, bl);
  return { results };
}

// Not an assertion, a guard against timing two different jobs: both copies
// of the source should hold as many files as the source itself.
function compareCounts(ctx, pb, bl) {
  const snapshotsDir = join(pb.target, 'plugback', HOST, 'snapshots');
  // Skip `.incomplete` / `.deleting` siblings: only finished snapshots count.
  const names = existsSync(snapshotsDir)
    ? readdirSync(snapshotsDir).filter((n) => /^\d{4}-\d{2}-\d{2}T\d{6}Z$/.test(n)).sort()
    : [];
  const pbCopy = names.length ? join(snapshotsDir, names[names.length - 1], STATE, ctx.source) : undefined;
  const pbCount = pbCopy && existsSync(pbCopy) ? countFiles(pbCopy) : 'none';
  const blCount = countFiles(join(bl.last, STATE, ctx.source));
  const srcCount = countFiles(ctx.source);
  const same = pbCount === srcCount && blCount === srcCount;
  console.log(`  check: source ${srcCount} files, plugback snapshot ${pbCount}, rsync snapshot ${blCount}` +
    (same ? '' : '  <-- MISMATCH: the two sides did not copy the same thing'));
  if (pbCount === 'none') console.log(`  (no copy of the source found under ${snapshotsDir}/*/${STATE}/)`);
}

function countFiles(dir) {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) n += countFiles(join(dir, entry.name));
    else n++;
  }
  return n;
}

function rsyncVersion() {
  const r = spawnSync('rsync', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new BenchError('rsync is not installed or does not run');
  return /version\s+(\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

// ------------------------------------------------------------------ main

function main() {
  const opts = parseOptions(process.argv.slice(2));
  samePriority = opts.samePriority;
  requireBuilt('sync-overhead');
  let exitCode = 0;
  let workDirOurs = false;
  try {
    const rsyncVer = rsyncVersion();
    prepareWorkDir(opts.dir);
    workDirOurs = true;
    setLogDir(join(opts.dir, 'logs'));
    const params = { files: opts.files, sizeMb: opts.sizeMb, seed: opts.seed };
    const plan = planTree(params);
    const source = ensureTree(opts.dir, params, plan);
    const ctx = { work: opts.dir, source, plan, seed: opts.seed, rounds: opts.rounds };

    const first = benchFirstSnapshot(ctx);
    const incr = benchIncremental(ctx, first.pb, first.bl);

    console.log('');
    console.log(`sync-overhead: ${plan.entries.length} files, ${human(plan.totalBytes)}, ` +
      `${opts.rounds} rounds, rsync ${rsyncVer}` +
      (samePriority ? ', plugback at the baseline\'s priority (--same-priority)' : ', plugback with its default nice 19 / ionice idle'));
    console.log(summaryLine('first snapshot', first.results));
    console.log(summaryLine('incremental 1%', incr.results));
    console.log(`(medians over rounds; ratio = plugback/rsync, target <= ${TARGET_RATIO})`);
    if (warningRuns() > 0) {
      console.log(`note: ${warningRuns()} plugback run(s) completed with warnings (exit 3)`);
    }
  } catch (err) {
    if (!(err instanceof BenchError)) throw err;
    console.error(`sync-overhead: ${err.message}`);
    if (workDirOurs && !opts.keep) console.error('(the work directory is removed; rerun with --keep to inspect it)');
    exitCode = 1;
  } finally {
    if (workDirOurs && !opts.keep) {
      removeTree(opts.dir);
    } else if (workDirOurs) {
      console.log(`kept ${opts.dir}`);
    }
  }
  process.exit(exitCode);
}

main();
