// Whether the destinations of a restore have room for it, asked before anything is moved: statfs(2) of the
// nearest existing folder on the way to each destination, with the needs of destinations on one file system added up.
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes } from '../config/units.js';

export interface SpaceNeed {
  /** Where the data goes (it may not exist yet). */
  to: string;
  bytes: number;
}

export interface SpaceShortage {
  /** The folder whose file system is too small. */
  at: string;
  needed: number;
  free: number;
}

/** The first file system the needs do not fit on, or undefined when they all fit. */
export async function spaceShortage(needs: readonly SpaceNeed[]): Promise<SpaceShortage | undefined> {
  const byDevice = new Map<number, SpaceShortage>();
  for (const need of needs) {
    const at = await existingAncestor(need.to);
    const dev = (await stat(at)).dev;
    const seen = byDevice.get(dev);
    if (seen) {
      seen.needed += need.bytes;
      continue;
    }
    const fs = await statfs(at);
    // bavail: what an unprivileged writer gets; root may dip into the reserve, but should not have to.
    byDevice.set(dev, { at, needed: need.bytes, free: fs.bavail * fs.bsize });
  }
  return [...byDevice.values()].find((s) => s.needed > s.free);
}

/** The message for a shortage: how much is needed and free, and what to do. */
export function shortageMessage(s: SpaceShortage, keep: boolean): string {
  const ways = keep
    ? 'free some space, restore with --no-keep (overwrites in place, writing only what changed, without a set-aside copy), or restore with --to DIR elsewhere'
    : 'free some space, or restore with --to DIR elsewhere';
  return `not enough room for this restore on the file system of ${s.at}: it writes about ${formatBytes(s.needed)} and ${formatBytes(s.free)} are free; nothing was changed. To go on: ${ways}`;
}

async function existingAncestor(file: string): Promise<string> {
  for (let dir = file; ; dir = path.dirname(dir)) {
    const there = await stat(dir).then(() => true, () => false);
    if (there || dir === path.dirname(dir)) return dir;
  }
}
