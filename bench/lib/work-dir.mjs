// The benchmarks' work directory: marked as ours before anything in it is removed, and the generated tree kept
// between runs when its parameters match.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { elapsed, human, seconds } from './figures.mjs';
import { makePool, poolSlice } from './tree-data.mjs';

/** A failure the benchmark reports in one line (exit 1), not with a stack. */
export class BenchError extends Error {}

// Written into the work dir so that we never rm -rf a directory we did not create.
export const OWNER_MARKER = '.plugback-bench';
// Describes the generated tree, so a later run with the same parameters can reuse it.
export const TREE_MARKER = 'tree.json';
export const TREE_FORMAT = 1;

export function prepareWorkDir(dir) {
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
export function ensureTree(dir, params, plan) {
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

export function removeTree(path) {
  // rm -rf is much faster than fs.rmSync on trees of tens of thousands of files.
  const r = spawnSync('rm', ['-rf', '--', path], { stdio: 'inherit' });
  if (r.status !== 0 && existsSync(path)) {
    // Snapshots may have been made read-only; make them writable and retry.
    spawnSync('chmod', ['-R', 'u+w', '--', path], { stdio: 'ignore' });
    rmSync(path, { recursive: true, force: true });
  }
}
