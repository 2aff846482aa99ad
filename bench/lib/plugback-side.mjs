// The plugback side of the benchmarks: an adopted directory target with its own config and state, and one timed
// `plugback run` onto it (optionally with its peak RSS, read from /proc while it runs).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectStatus, logFile, run, settle, waitForFreshSecond } from './child-runs.mjs';
import { elapsed } from './figures.mjs';

export const PLUGBACK_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
/** Ends bench `name` with exit 2 when plugback is not built: every side runs dist/main.js. */
export function requireBuilt(name) {
  if (existsSync(PLUGBACK_MAIN)) return;
  console.error(`${name}: ${PLUGBACK_MAIN} is missing: run \`npm run build\` first`);
  process.exit(2);
}
export const HOST = 'bench';
export const DRIVE = 'bench';
export const STATE = 'data';

let warnings = 0;
/** How many timed runs ended "completed with warnings" (exit 3): still snapshots, but worth a note. */
export const warningRuns = () => warnings;

/**
 * A fresh adopted target `target` (made here unless it exists), so a first-snapshot round starts with no history.
 * `samePriority` runs plugback's rsync like the baseline's (no nice, no ionice).
 */
export function newPlugbackTarget({ work, source, name, target = join(work, `target-plugback-${name}`), samePriority = false, keepLast = 1000 }) {
  const stateDir = join(work, `state-${name}`);
  const config = join(work, `plugback-${name}.yaml`);
  mkdirSync(target, { recursive: true });
  mkdirSync(stateDir);
  const q = JSON.stringify; // JSON strings are valid YAML scalars, so paths need no further quoting.
  const yaml = [
    `host: ${HOST}`,
    `stateDir: ${q(stateDir)}`,
    'drives:',
    `  ${DRIVE}:`,
    `    path: ${q(target)}`,
    'states:',
    `  ${STATE}:`,
    `    folders: [${q(source)}]`,
    'backup:',
    `  lockFile: ${q(join(work, `plugback-${name}.lock`))}`,
    '  retention:',
    `    keepLast: ${keepLast}`,
    ...(samePriority ? ['  nice: 0', '  ioClass: none'] : []),
    '',
  ].join('\n');
  writeFileSync(config, yaml);
  const r = run(`adopt-${name}`, process.execPath, [PLUGBACK_MAIN, 'drive', 'adopt', DRIVE, '--config', config]);
  expectStatus(r, [0], `plugback drive adopt (${name})`);
  return { name, target, stateDir, config };
}

/** One timed `plugback run` (after a settle and a fresh second, both untimed); returns its seconds. */
export function plugbackSnapshot(pb, label) {
  waitForFreshSecond(pb);
  settle();
  const r = run(label, process.execPath, [PLUGBACK_MAIN, 'run', DRIVE, '--config', pb.config]);
  pb.lastEnd = Date.now();
  noteStatus(r, label);
  return r.seconds;
}

/** The same as plugbackSnapshot, but also the run's peak RSS (VmHWM of the node process, in bytes). */
export async function plugbackSnapshotWithRss(pb, label) {
  waitForFreshSecond(pb);
  settle();
  const log = logFile(label);
  const fd = openSync(log, 'w');
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [PLUGBACK_MAIN, 'run', DRIVE, '--config', pb.config], { stdio: ['ignore', fd, fd] });
  let peak = 0;
  // VmHWM only grows, so the last reading before the exit is the peak up to then (to within one poll).
  const poll = setInterval(() => (peak = Math.max(peak, vmHwm(child.pid))), 50);
  const status = await new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  clearInterval(poll);
  const seconds = elapsed(t0);
  closeSync(fd);
  pb.lastEnd = Date.now();
  noteStatus({ seconds, status, log }, label);
  return { seconds, peakRss: peak, checksumSeconds: checksumStepSeconds(log) };
}

/**
 * How long the run's checksums step took, from its JSON log lines: the time of "checksums of N files recorded"
 * less that of the line before it (check-shrink logs nothing, so that is the end of the copy). Undefined for a
 * build without the step.
 */
function checksumStepSeconds(log) {
  const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('{'));
  const at = lines.findIndex((l) => l.includes('"msg":"checksums of '));
  if (at < 1) return undefined;
  const time = (l) => Date.parse(JSON.parse(l).time);
  return (time(lines[at]) - time(lines[at - 1])) / 1000;
}

function noteStatus(r, label) {
  // 3 = completed with warnings: still a snapshot, so still a timing; flagged in the output.
  expectStatus(r, [0, 3], `plugback run (${label})`);
  if (r.status === 3) {
    warnings++;
    console.log(`  note: plugback completed with warnings, see ${r.log}`);
  }
}

function vmHwm(pid) {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib ? Number(kib) * 1024 : 0;
  } catch {
    return 0; // exited between two polls
  }
}
