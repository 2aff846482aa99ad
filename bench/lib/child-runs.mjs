// How the benchmarks run and time child processes: output to a numbered log file, no shell, and the pauses that
// keep one side's leftover writes from being timed on the other side.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { elapsed } from './figures.mjs';
import { BenchError } from './work-dir.mjs';

let logDir;
let logSeq = 0;

/** Where run() writes each child's output, one numbered file per run. */
export function setLogDir(dir) {
  logDir = dir;
}

/** The next numbered log file, for a child the caller starts itself. */
export function logFile(label) {
  return join(logDir, `${String(++logSeq).padStart(3, '0')}-${label}.log`);
}

// Runs one command with its output going to a log file, and times it.
// spawnSync with an argument array: no shell, nothing to quote.
export function run(label, cmd, args) {
  const log = logFile(label);
  const fd = openSync(log, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', fd, fd] });
  const secs = elapsed(t0);
  closeSync(fd);
  return { seconds: secs, status: r.status, signal: r.signal, error: r.error, log };
}

export function expectStatus(result, okCodes, what) {
  if (!result.error && okCodes.includes(result.status)) return;
  const why = result.error ? result.error.message
    : result.signal ? `killed by ${result.signal}` : `exit ${result.status}`;
  printTail(result.log);
  throw new BenchError(`${what} failed (${why}); log: ${result.log}`);
}

export function printTail(log, lines = 25) {
  const text = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  console.error(`--- last lines of ${log} ---\n${text}\n---`);
}

// Flushes everything dirty before a timed region, so neither side pays for
// writes left behind by the other side or by the untimed preparation. The
// pause lets the disk finish discards of deleted trees (a root mounted with
// -o discard keeps trimming after sync returns): without it, whichever side
// ran first in a round was measurably slower.
export function settle() {
  spawnSync('sync', [], { stdio: 'ignore' });
  spawnSync('sleep', ['3'], { stdio: 'ignore' });
}

// Snapshot names have 1-second resolution, and plugback waits for the next
// second when its name is taken. That wait must not be timed, so wait here,
// untimed, until the second in which the previous run on this target ended
// is over. The baseline gets the same treatment, keeping the two alike.
export function waitForFreshSecond(side) {
  if (side.lastEnd === undefined) return;
  const next = (Math.floor(side.lastEnd / 1000) + 1) * 1000;
  while (Date.now() < next) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, next - Date.now());
}
