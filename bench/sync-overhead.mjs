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
import { createCipheriv, createHash } from 'node:crypto';
import {
  closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync,
  rmSync, utimesSync, writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// All file content is cut out of one 64 MiB pool of pseudo-random bytes.
const POOL_SIZE = 64 * MiB;
const FILES_PER_DIR = 100;
const CHANGE_FRACTION = 0.01;
const TARGET_RATIO = 1.02;

// Names used in the generated plugback config; the baseline mirrors them.
const HOST = 'bench';
const DRIVE = 'bench';
const STATE = 'data';

const PLUGBACK_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
// Written into the work dir so that we never rm -rf a directory we did not create.
const OWNER_MARKER = '.plugback-bench';
// Describes the generated tree, so a later run with the same parameters can reuse it.
const TREE_MARKER = 'tree.json';
const TREE_FORMAT = 1;

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

class BenchError extends Error {}

// ---------------------------------------------------------------- options

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        rounds: { type: 'string', default: '4' },
        files: { type: 'string', default: '50000' },
        'size-mb': { type: 'string', default: '1024' },
        seed: { type: 'string', default: '1' },
        dir: { type: 'string', default: join(tmpdir(), 'plugback-bench') },
        keep: { type: 'boolean', default: false },
        'same-priority': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    usageError(err.message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    rounds: positiveInt(values.rounds, '--rounds'),
    files: positiveInt(values.files, '--files'),
    sizeMb: positiveInt(values['size-mb'], '--size-mb'),
    seed: positiveInt(values.seed, '--seed'),
    dir: resolve(values.dir),
    keep: values.keep,
    samePriority: values['same-priority'],
  };
}

function positiveInt(text, name) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) usageError(`${name} wants a positive integer, got ${text}`);
  return n;
}

function usageError(message) {
  console.error(`sync-overhead: ${message}\n${USAGE}`);
  process.exit(2);
}

// ------------------------------------------------------- deterministic data

// Small seeded PRNG (mulberry32): decides sizes, offsets and which files change.
// It is only called a few times per file; the bytes themselves come from the pool.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randInt(rand, lo, hi) {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

// The byte pool is an AES-CTR keystream keyed by the seed: as fast as
// crypto.randomBytes, but the same seed gives the same bytes on every machine.
function makePool(seed) {
  const key = createHash('sha256').update(`plugback-bench:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return cipher.update(Buffer.alloc(POOL_SIZE));
}

// `size` bytes of the pool starting at `offset`, wrapping around its end so
// that any offset works for any size up to the pool size.
function poolSlice(pool, offset, size) {
  if (offset + size <= pool.length) return pool.subarray(offset, offset + size);
  return Buffer.concat([pool.subarray(offset), pool.subarray(0, size - (pool.length - offset))]);
}

// The list of files (relative path, size, content offset): a pure function of
// the parameters, so a reused tree does not need its plan stored anywhere.
function planTree({ files, sizeMb, seed }) {
  const rand = prng(seed);
  const budget = sizeMb * MiB;
  const cap = Math.max(1, Math.floor(files / 10));
  // About 40% of the bytes in a few big files, 40% in some medium ones,
  // and the rest of the file count as small files.
  const nLarge = Math.min(cap, Math.floor((0.4 * budget) / (36 * MiB)));
  const nMedium = Math.min(cap, Math.floor((0.4 * budget) / (288 * KiB)));
  const sizes = [];
  for (let i = 0; i < nLarge; i++) sizes.push(randInt(rand, 8 * MiB, 64 * MiB));
  for (let i = 0; i < nMedium; i++) sizes.push(randInt(rand, 64 * KiB, 512 * KiB));
  while (sizes.length < files) sizes.push(randInt(rand, 512, 8 * KiB));
  shuffle(sizes, rand);
  // Top up until the total reaches the budget; these extra files may fall
  // outside the three size classes, which does not matter for the figures.
  let total = sizes.reduce((sum, s) => sum + s, 0);
  while (total < budget) {
    const size = Math.min(64 * MiB, Math.max(512, budget - total));
    sizes.push(size);
    total += size;
  }
  const fanout = Math.max(2, Math.ceil(Math.cbrt(Math.ceil(sizes.length / FILES_PER_DIR))));
  const entries = sizes.map((size, i) => ({
    rel: join(leafDir(Math.floor(i / FILES_PER_DIR), fanout), `f${String(i).padStart(6, '0')}.bin`),
    size,
    offset: Math.floor(rand() * POOL_SIZE),
  }));
  return { entries, totalBytes: total };
}

function shuffle(array, rand) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
}

// Leaf directory number k as a path of depth 3, e.g. d03/d07/d01.
function leafDir(k, fanout) {
  const digit = (n) => `d${String(n % fanout).padStart(2, '0')}`;
  return join(digit(Math.floor(k / (fanout * fanout))), digit(Math.floor(k / fanout)), digit(k));
}

// ------------------------------------------------------------ work directory

function prepareWorkDir(dir) {
  mkdirSync(dir, { recursive: true });
  const entries = readdirSync(dir);
  if (entries.length > 0 && !entries.includes(OWNER_MARKER)) {
    throw new BenchError(`${dir} is not empty and was not made by this script; pick another --dir`);
  }
  writeFileSync(join(dir, OWNER_MARKER), '');
  // Leftovers of an interrupted run would skew disk use; only the tree is kept.
  for (const entry of entries) {
    if (![OWNER_MARKER, TREE_MARKER, 'source'].includes(entry)) removeTree(join(dir, entry));
  }
  mkdirSync(join(dir, 'logs'));
}

// Reuses <dir>/source when its marker records the same parameters, else
// writes it anew. The marker is written last, so a half-written tree is redone.
function ensureTree(dir, params, plan) {
  const source = join(dir, 'source');
  const markerPath = join(dir, TREE_MARKER);
  const wanted = JSON.stringify({ format: TREE_FORMAT, ...params });
  if (existsSync(markerPath) && readFileSync(markerPath, 'utf8') === wanted && existsSync(source)) {
    console.log(`reusing tree in ${source}`);
    return source;
  }
  removeTree(markerPath);
  removeTree(source);
  console.log(`generating ${plan.entries.length} files, ${human(plan.totalBytes)} in ${source} ...`);
  const t0 = process.hrtime.bigint();
  const pool = makePool(params.seed);
  const made = new Set();
  for (const { rel, size, offset } of plan.entries) {
    const path = join(source, rel);
    const parent = join(path, '..');
    if (!made.has(parent)) {
      mkdirSync(parent, { recursive: true });
      made.add(parent);
    }
    writeFileSync(path, poolSlice(pool, offset, size));
  }
  writeFileSync(markerPath, wanted);
  console.log(`generated in ${seconds(elapsed(t0))} s`);
  return source;
}

// Rewrites 1% of the files with other bytes of the same size and a new mtime.
// The choice depends on the round, so every round changes a fresh set.
function changeFiles(source, plan, seed, round) {
  const rand = prng(seed * 1000003 + round);
  const count = Math.max(1, Math.round(plan.entries.length * CHANGE_FRACTION));
  const pool = makePool(seed);
  const indices = plan.entries.map((_, i) => i);
  const now = new Date();
  for (let n = 0; n < count; n++) {
    // Partial Fisher-Yates: picks `count` distinct files.
    const j = n + Math.floor(rand() * (indices.length - n));
    [indices[n], indices[j]] = [indices[j], indices[n]];
    const { rel, size } = plan.entries[indices[n]];
    const path = join(source, rel);
    // Overwritten in place (same size, same blocks): truncating would free blocks, and on a file system
    // mounted with -o discard the trims that follow slow down whichever run comes next.
    const fd = openSync(path, 'r+');
    writeSync(fd, poolSlice(pool, Math.floor(rand() * POOL_SIZE), size), 0, size, 0);
    closeSync(fd);
    // Same size, so rsync's quick check needs the mtime to move; set it explicitly.
    utimesSync(path, now, now);
  }
  return count;
}

function removeTree(path) {
  // rm -rf is much faster than fs.rmSync on trees of tens of thousands of files.
  const r = spawnSync('rm', ['-rf', '--', path], { stdio: 'inherit' });
  if (r.status !== 0 && existsSync(path)) {
    // Snapshots may have been made read-only; make them writable and retry.
    spawnSync('chmod', ['-R', 'u+w', '--', path], { stdio: 'ignore' });
    rmSync(path, { recursive: true, force: true });
  }
}

// -------------------------------------------------------------- child runs

let logDir;
let logSeq = 0;
let plugbackWarnings = 0;

// Runs one command with its output going to a log file, and times it.
// spawnSync with an argument array: no shell, nothing to quote.
function run(label, cmd, args) {
  const log = join(logDir, `${String(++logSeq).padStart(3, '0')}-${label}.log`);
  const fd = openSync(log, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', fd, fd] });
  const secs = elapsed(t0);
  closeSync(fd);
  return { seconds: secs, status: r.status, signal: r.signal, error: r.error, log };
}

function expectStatus(result, okCodes, what) {
  if (!result.error && okCodes.includes(result.status)) return;
  const why = result.error ? result.error.message
    : result.signal ? `killed by ${result.signal}` : `exit ${result.status}`;
  printTail(result.log);
  throw new BenchError(`${what} failed (${why}); log: ${result.log}`);
}

function printTail(log, lines = 25) {
  const text = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  console.error(`--- last lines of ${log} ---\n${text}\n---`);
}

// Flushes everything dirty before a timed region, so neither side pays for
// writes left behind by the other side or by the untimed preparation. The
// pause lets the disk finish discards of deleted trees (a root mounted with
// -o discard keeps trimming after sync returns): without it, whichever side
// ran first in a round was measurably slower.
function settle() {
  spawnSync('sync', [], { stdio: 'ignore' });
  spawnSync('sleep', ['3'], { stdio: 'ignore' });
}

// Snapshot names have 1-second resolution, and plugback waits for the next
// second when its name is taken. That wait must not be timed, so wait here,
// untimed, until the second in which the previous run on this target ended
// is over. The baseline gets the same treatment, keeping the two alike.
function waitForFreshSecond(side) {
  if (side.lastEnd === undefined) return;
  const next = (Math.floor(side.lastEnd / 1000) + 1) * 1000;
  while (Date.now() < next) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, next - Date.now());
}

// ------------------------------------------------------------ plugback side

// A fresh, adopted plugback target with its own config and state directory,
// so every first-snapshot round starts with no history at all.
function newPlugbackTarget(work, source, name) {
  const target = join(work, `target-plugback-${name}`);
  const stateDir = join(work, `state-${name}`);
  const config = join(work, `plugback-${name}.yaml`);
  mkdirSync(target);
  mkdirSync(stateDir);
  writeFileSync(config, plugbackConfig({ work, source, target, stateDir }));
  const r = run(`adopt-${name}`, process.execPath, [PLUGBACK_MAIN, 'drive', 'adopt', DRIVE, '--config', config]);
  expectStatus(r, [0], `plugback drive adopt (${name})`);
  return { name, target, stateDir, config };
}

// Set from --same-priority: plugback's rsync then runs like the baseline's, without nice and ionice.
let samePriority = false;

// JSON strings are valid YAML scalars, so paths need no further quoting.
function plugbackConfig({ work, source, target, stateDir }) {
  const q = JSON.stringify;
  return [
    `host: ${HOST}`,
    `stateDir: ${q(stateDir)}`,
    'drives:',
    `  ${DRIVE}:`,
    `    path: ${q(target)}`,
    'states:',
    `  ${STATE}:`,
    `    folders: [${q(source)}]`,
    'backup:',
    `  lockFile: ${q(join(work, 'plugback.lock'))}`,
    '  retention:',
    '    keepLast: 1000',
    ...(samePriority ? ['  nice: 0', '  ioClass: none'] : []),
    '',
  ].join('\n');
}

function plugbackSnapshot(pb, label) {
  waitForFreshSecond(pb);
  settle();
  const r = run(label, process.execPath, [PLUGBACK_MAIN, 'run', DRIVE, '--config', pb.config]);
  pb.lastEnd = Date.now();
  // 3 = completed with warnings: still a snapshot, so still a timing; flagged in the output.
  expectStatus(r, [0, 3], `plugback run (${label})`);
  if (r.status === 3) {
    plugbackWarnings++;
    console.log(`  note: plugback completed with warnings, see ${r.log}`);
  }
  return r.seconds;
}


// ------------------------------------------------------------ baseline side

// The baseline area mirrors plugback's layout:
// <root>/plugback/<host>/snapshots/<timestamp>/<state>/<source abs path>.
function newBaselineArea(work, name) {
  const root = join(work, `target-rsync-${name}`);
  const snapshots = join(root, 'plugback', HOST, 'snapshots');
  mkdirSync(snapshots, { recursive: true });
  return { root, snapshots, last: undefined };
}

// The command plugback should cost no more than, timed alone ("rsync") and
// followed by `sync -f` ("rsync+sync"), since plugback also flushes its snapshot.
function baselineSnapshot(area, source, label) {
  waitForFreshSecond(area);
  const dest = join(area.snapshots, snapshotName(new Date()));
  mkdirSync(dest);
  settle();
  const args = ['-aHAX', '--numeric-ids', '--relative'];
  if (area.last) args.push(`--link-dest=${join(area.last, STATE)}`);
  args.push(`${source}/`, `${join(dest, STATE)}/`);
  const copy = run(label, 'rsync', args);
  expectStatus(copy, [0], `rsync (${label})`);
  const flush = run(`${label}-sync`, 'sync', ['-f', dest]);
  area.lastEnd = Date.now();
  expectStatus(flush, [0], `sync -f (${label})`);
  area.last = dest;
  return { rsync: copy.seconds, rsyncSync: copy.seconds + flush.seconds };
}

// Same shape as plugback's names, e.g. 2026-11-22T101500Z.
function snapshotName(date) {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '');
}

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
  let pb = newPlugbackTarget(work, source, 'first-warmup');
  let bl = newBaselineArea(work, 'first-warmup');
  plugbackSnapshot(pb, 'first-warmup-plugback');
  baselineSnapshot(bl, source, 'first-warmup-rsync');
  compareCounts(ctx, pb, bl);

  const results = [];
  for (let i = 0; i < rounds; i++) {
    // Earlier rounds' copies stay until the work directory goes (about 2 GiB a round): deleting them here
    // made the disk trim freed blocks during the next timed run, penalising whichever side ran first.
    pb = newPlugbackTarget(work, source, `first-${i + 1}`);
    bl = newBaselineArea(work, `first-${i + 1}`);
    const r = timeRound(
      i,
      () => plugbackSnapshot(pb, `first-${i + 1}-plugback`),
      () => baselineSnapshot(bl, source, `first-${i + 1}-rsync`),
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
  baselineSnapshot(bl, source, 'incr-warmup-rsync');

  const results = [];
  for (let i = 0; i < rounds; i++) {
    // Both sides snapshot the same source, so they see the same changed files.
    changed = changeFiles(source, plan, seed, i + 1);
    const r = timeRound(
      i,
      () => plugbackSnapshot(pb, `incr-${i + 1}-plugback`),
      () => baselineSnapshot(bl, source, `incr-${i + 1}-rsync`),
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

// ---------------------------------------------------------------- output

function printRound(kind, i, rounds, r, extra) {
  const order = r.plugbackFirst ? 'plugback first' : 'rsync first';
  console.log(`${kind.padEnd(5)} round ${i + 1}/${rounds} (${order})  ` +
    `plugback ${seconds(r.plugback)} s  rsync ${seconds(r.rsync)} s  rsync+sync ${seconds(r.rsyncSync)} s  ` +
    `ratio ${ratio(r.plugback / r.rsync)} (vs rsync+sync ${ratio(r.plugback / r.rsyncSync)})` +
    (extra ? `  [${extra}]` : ''));
}

// Medians of the per-round seconds, and the median of the per-round ratios
// (pairing each plugback run with the baseline of its own round).
function summaryLine(label, results) {
  const pb = median(results.map((r) => r.plugback));
  const rs = median(results.map((r) => r.rsync));
  const rss = median(results.map((r) => r.rsyncSync));
  const vsRsync = median(results.map((r) => r.plugback / r.rsync));
  const vsRsyncSync = median(results.map((r) => r.plugback / r.rsyncSync));
  return `${label.padEnd(16)} plugback ${pb.toFixed(2)} s  rsync ${rs.toFixed(2)} s  ` +
    `rsync+sync ${rss.toFixed(2)} s  ratio ${ratio(vsRsync)} (vs rsync+sync ${ratio(vsRsyncSync)})`;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const seconds = (s) => s.toFixed(3);
const ratio = (x) => x.toFixed(3);
const human = (bytes) => (bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`);
const elapsed = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

function rsyncVersion() {
  const r = spawnSync('rsync', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new BenchError('rsync is not installed or does not run');
  return /version\s+(\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

// ------------------------------------------------------------------ main

function main() {
  const opts = parseOptions(process.argv.slice(2));
  samePriority = opts.samePriority;
  if (!existsSync(PLUGBACK_MAIN)) {
    console.error(`sync-overhead: ${PLUGBACK_MAIN} is missing: run \`npm run build\` first`);
    process.exit(2);
  }
  let exitCode = 0;
  let workDirOurs = false;
  try {
    const rsyncVer = rsyncVersion();
    prepareWorkDir(opts.dir);
    workDirOurs = true;
    logDir = join(opts.dir, 'logs');
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
    if (plugbackWarnings > 0) {
      console.log(`note: ${plugbackWarnings} plugback run(s) completed with warnings (exit 3)`);
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
