#!/usr/bin/env node
// startup: what `plugback run` costs before and after rsync on a one-file source, against the bare rsync
// command. Alternating rounds of (a) `node dist/main.js run DRIVE` and (b) bare rsync, both timed from spawn;
// for (a) a stand-in `rsync` first on PATH notes when the real rsync starts and ends, which gives "exec to
// rsync start", the figure the start-up target (<= 0.15 s) applies to.
//
// This is a benchmark, not a test: it prints figures and asserts nothing.
// Exit codes: 0 figures printed, 1 a run failed (nothing to compare), 2 bad usage or `dist/main.js` missing.
// See bench/README.md.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchOptions } from './lib/options.mjs';
import { expectStatus, run, setLogDir, waitForFreshSecond } from './lib/child-runs.mjs';
import { median, ratio } from './lib/figures.mjs';
import { DRIVE, newPlugbackTarget, PLUGBACK_MAIN, requireBuilt } from './lib/plugback-side.mjs';
import { BenchError, prepareWorkDir, removeTree } from './lib/work-dir.mjs';

const TARGET_START_S = 0.15;

const USAGE = `usage: node bench/startup.mjs [options]
  --rounds N     timed rounds (default 24; the sides take turns going first, so keep it a multiple of 2, or
                 of 3 with --compare)
  --dir DIR      work directory (default ${join(tmpdir(), 'plugback-bench-startup')})
  --keep         keep the work directory afterwards
  --compare MAIN also time another build's main.js (e.g. a checkout of the previous commit, built) in each
                 round, side by side with this one, so a change is judged on the same machine load
  --help`;

function parseOptions(argv) {
  const { values, int, fail } = benchOptions('startup', USAGE, {
    rounds: { type: 'string', default: '24' },
    dir: { type: 'string', default: join(tmpdir(), 'plugback-bench-startup') },
    keep: { type: 'boolean', default: false },
    compare: { type: 'string' },
  }, argv);
  const compare = values.compare === undefined ? undefined : resolve(values.compare);
  if (compare !== undefined && !existsSync(compare)) fail(`--compare: no ${compare}`);
  return { rounds: int('rounds'), dir: resolve(values.dir), keep: values.keep, compare };
}

// ------------------------------------------------------------ the stand-in

/** The real rsync's absolute path, looked up before the stand-in goes first on PATH. */
function realRsync() {
  const r = spawnSync('sh', ['-c', 'command -v rsync'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path.startsWith('/')) throw new BenchError('rsync is not installed (apt-get install rsync)');
  return path;
}

/**
 * Writes `<work>/bin/rsync`: it appends the wall clock (ns) to `stamps` when it starts and when the real rsync
 * has ended. Wall clock, not monotonic: the shell has no monotonic clock, and the other end of each interval is
 * this process's performance.timeOrigin + now(), which is the same clock. `date` itself costs about a
 * millisecond, which the "stand-in alone" figure shows.
 */
function writeStandIn(work, rsync, stamps) {
  const bin = join(work, 'bin');
  mkdirSync(bin);
  const script = join(bin, 'rsync');
  const q = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
  writeFileSync(script, [
    '#!/bin/sh',
    '# bench/startup: notes when rsync starts and ends, around the real one.',
    `date +%s%N >> ${q(stamps)}`,
    `${q(rsync)} "$@"`,
    'status=$?',
    `date +%s%N >> ${q(stamps)}`,
    'exit $status',
    '',
  ].join('\n'));
  chmodSync(script, 0o755);
  return bin;
}

/** The stand-in's notes of the last run, in seconds after `t0` (wall clock, ms since the epoch). */
function readStamps(stamps, t0) {
  if (!existsSync(stamps)) throw new BenchError(`the rsync stand-in was not run (no ${stamps}): did plugback find another rsync?`);
  const [start, end] = readFileSync(stamps, 'utf8').trim().split('\n').map((ns) => Number(BigInt(ns) / 1000n) / 1e6 - t0 / 1e3);
  rmSync(stamps);
  return { start, end };
}

const wallNow = () => performance.timeOrigin + performance.now();

// --------------------------------------------------------------- the sides

/** One `plugback run` of `main`: its total seconds from spawn, and when (after spawn) rsync started and ended. */
function plugbackSide(pb, stamps, label, main = PLUGBACK_MAIN) {
  waitForFreshSecond(pb);
  spawnSync('sync');
  const t0 = wallNow();
  const r = run(label, process.execPath, [main, 'run', DRIVE, '--config', pb.config]);
  pb.lastEnd = Date.now();
  expectStatus(r, [0, 3], `plugback run (${label})`);
  return { total: r.seconds, ...readStamps(stamps, t0) };
}

/** The bare rsync command of the sync-overhead baseline, into a fresh directory; its seconds from spawn. */
function rsyncSide(ctx, label) {
  const dest = join(ctx.work, 'rsync', label);
  mkdirSync(dest, { recursive: true });
  spawnSync('sync');
  const r = run(label, ctx.rsync, ['-aHAX', '--numeric-ids', '--relative', `${ctx.source}/`, `${dest}/`]);
  expectStatus(r, [0], `rsync (${label})`);
  return r.seconds;
}

/** The stand-in started directly (`rsync --version`): what it adds to "rsync start" by itself. */
function standInAlone(ctx, label) {
  const t0 = wallNow();
  const r = run(label, join(ctx.bin, 'rsync'), ['--version']);
  expectStatus(r, [0], `the rsync stand-in (${label})`);
  return readStamps(ctx.stamps, t0).start;
}

// The sides take turns going first (a rotation over the rounds), so none always gets the warmer caches.
function round(ctx, i) {
  const label = (side) => `r${i + 1}-${side}`;
  const sides = [
    ['plugback', () => plugbackSide(ctx.pb, ctx.stamps, label('plugback'))],
    ['rsync', () => rsyncSide(ctx, label('rsync'))],
    // Another build, on the same target: its runs find as many snapshots there as this build's.
    ...(ctx.compare ? [['compared', () => plugbackSide(ctx.pb, ctx.stamps, label('compared'), ctx.compare)]] : []),
  ];
  const turn = i % sides.length;
  const r = { first: sides[turn][0] };
  for (const [name, side] of [...sides.slice(turn), ...sides.slice(0, turn)]) r[name] = side();
  return { ...r, standIn: standInAlone(ctx, label('stand-in')) };
}

const ms = (s) => `${(s * 1000).toFixed(0)} ms`;

function printRound(i, rounds, r) {
  console.log(`round ${String(i + 1).padStart(2)}/${rounds} (${`${r.first} first`.padEnd(14)})  ` +
    `plugback ${ms(r.plugback.total)} (rsync from ${ms(r.plugback.start)} to ${ms(r.plugback.end)})  rsync ${ms(r.rsync)}  ` +
    `ratio ${(r.plugback.total / r.rsync).toFixed(1)}` +
    (r.compared ? `  | compared ${ms(r.compared.total)} (rsync from ${ms(r.compared.start)})` : ''));
}

function printSummary(results, rsyncVersion, compare) {
  const m = (f) => median(results.map(f));
  console.log('');
  console.log(`startup: one-file source, ${results.length} rounds, rsync ${rsyncVersion} (medians)`);
  console.log(`  plugback run, spawn to exit     ${ms(m((r) => r.plugback.total))}`);
  console.log(`    spawn to rsync start          ${ms(m((r) => r.plugback.start))}   (target <= ${ms(TARGET_START_S)})`);
  console.log(`    rsync, start to end           ${ms(m((r) => r.plugback.end - r.plugback.start))}`);
  console.log(`    rsync end to exit             ${ms(m((r) => r.plugback.total - r.plugback.end))}`);
  console.log(`  bare rsync, spawn to exit       ${ms(m((r) => r.rsync))}`);
  console.log(`  the stand-in alone, to its note ${ms(m((r) => r.standIn))}   (included in "spawn to rsync start")`);
  console.log(`  ratio plugback/rsync            ${ratio(m((r) => r.plugback.total / r.rsync))}   (median of the per-round ratios)`);
  if (!compare) return;
  console.log(`  compared: ${compare}`);
  console.log(`    spawn to exit                 ${ms(m((r) => r.compared.total))}`);
  console.log(`    spawn to rsync start          ${ms(m((r) => r.compared.start))}`);
  console.log(`    ratio compared/rsync          ${ratio(m((r) => r.compared.total / r.rsync))}`);
  console.log(`    this build/compared, to rsync ${ratio(m((r) => r.plugback.start / r.compared.start))}   (median of the per-round ratios)`);
}

function rsyncVersionOf(rsync) {
  const r = spawnSync(rsync, ['--version'], { encoding: 'utf8' });
  return /version\s+(\S+)/.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

function main() {
  const opts = parseOptions(process.argv.slice(2));
  requireBuilt('startup');
  let exitCode = 0;
  let workDirOurs = false;
  try {
    const rsync = realRsync();
    prepareWorkDir(opts.dir);
    workDirOurs = true;
    setLogDir(join(opts.dir, 'logs'));
    const source = join(opts.dir, 'source');
    mkdirSync(source);
    writeFileSync(join(source, 'one-file'), 'x'.repeat(4096));
    const stamps = join(opts.dir, 'rsync-stamps');
    const bin = writeStandIn(opts.dir, rsync, stamps);
    // plugback hands its environment to rsync (src/system/child-env.ts) and finds it on PATH, through nice and
    // ionice; the baseline runs the real rsync by its absolute path.
    process.env.PATH = `${bin}${delimiter}${process.env.PATH ?? ''}`;
    const pb = newPlugbackTarget({ work: opts.dir, source, name: 'startup' });
    const ctx = { work: opts.dir, source, rsync, bin, stamps, pb, compare: opts.compare };

    console.log('warm-up (untimed)');
    plugbackSide(pb, stamps, 'warmup-plugback');
    rsyncSide(ctx, 'warmup-rsync');
    if (opts.compare) plugbackSide(pb, stamps, 'warmup-compared', opts.compare);
    const results = [];
    for (let i = 0; i < opts.rounds; i++) {
      const r = round(ctx, i);
      printRound(i, opts.rounds, r);
      results.push(r);
    }
    printSummary(results, rsyncVersionOf(rsync), opts.compare);
  } catch (err) {
    if (!(err instanceof BenchError)) throw err;
    console.error(`startup: ${err.message}`);
    if (workDirOurs && !opts.keep) console.error('(the work directory is removed; rerun with --keep to inspect it)');
    exitCode = 1;
  } finally {
    if (workDirOurs && !opts.keep) removeTree(opts.dir);
    else if (workDirOurs) console.log(`kept ${opts.dir}`);
  }
  process.exit(exitCode);
}

main();
