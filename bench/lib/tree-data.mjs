// The benchmarks' generated trees: a pure function of (files, size, seed), so a tree can be reused across runs
// and every machine makes the same bytes; and the 1% of files an incremental round rewrites.
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, openSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

// All file content is cut out of one 64 MiB pool of pseudo-random bytes.
export const POOL_SIZE = 64 * MiB;
export const FILES_PER_DIR = 100;
export const CHANGE_FRACTION = 0.01;
export const TARGET_RATIO = 1.02;

// Small seeded PRNG (mulberry32): decides sizes, offsets and which files change.
// It is only called a few times per file; the bytes themselves come from the pool.
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt(rand, lo, hi) {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

// The byte pool is an AES-CTR keystream keyed by the seed: as fast as
// crypto.randomBytes, but the same seed gives the same bytes on every machine.
export function makePool(seed) {
  const key = createHash('sha256').update(`plugback-bench:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return cipher.update(Buffer.alloc(POOL_SIZE));
}

// `size` bytes of the pool starting at `offset`, wrapping around its end so
// that any offset works for any size up to the pool size.
export function poolSlice(pool, offset, size) {
  if (offset + size <= pool.length) return pool.subarray(offset, offset + size);
  return Buffer.concat([pool.subarray(offset), pool.subarray(0, size - (pool.length - offset))]);
}

// The list of files (relative path, size, content offset): a pure function of
// the parameters, so a reused tree does not need its plan stored anywhere.
export function planTree({ files, sizeMb, seed }) {
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

export function shuffle(array, rand) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
}

// Leaf directory number k as a path of depth 3, e.g. d03/d07/d01.
export function leafDir(k, fanout) {
  const digit = (n) => `d${String(n % fanout).padStart(2, '0')}`;
  return join(digit(Math.floor(k / (fanout * fanout))), digit(Math.floor(k / fanout)), digit(k));
}

// Rewrites 1% of the files with other bytes of the same size and a new mtime.
// The choice depends on the round, so every round changes a fresh set.
export function changeFiles(source, plan, seed, round) {
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
