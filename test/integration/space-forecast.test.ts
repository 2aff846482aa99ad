// The space forecast, from real backups onto a small ext4 image (real CLI as root, real rsync): the ledger keeps
// what each incremental backup copied, `drives` and the metrics say "full in about N backups", and a backup that
// would not fit fails at check-space before any hook runs or anything is copied, with the commands that free room.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';

const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

const MiB = 1024 * 1024;

/** A new file of `size` random bytes in the source, then one backup, which must end with `code`. */
async function backupWithNew(w: Workspace, name: string, size: number, code = 0) {
  await fs.writeFile(path.join(w.src, name), Buffer.alloc(size, name));
  await sleep(1100);
  const r = await w.cli(['run', 'd1']);
  expect(r.code, shown(r)).toBe(code);
  return r;
}

describe('the space forecast', () => {
  it('says how many backups the drive still holds, and stops one that would not fit before anything is copied', async () => {
    // 32 MiB ext4 image: about 27 MiB free for data.
    const w = await Workspace.create('ext4', 'retention: {keepLast: 50}');
    workspaces.push(w);
    const marker = path.join(w.dir, 'hook-ran');
    await fs.appendFile(w.config, `hooks: {preBackup: "touch ${marker}"}\n`);
    await backupWithNew(w, 'first.bin', 1 * MiB);
    await backupWithNew(w, 'a.bin', 5 * MiB);
    await backupWithNew(w, 'b.bin', 5 * MiB);
    expect(await fs.stat(marker).catch(() => undefined)).toBeDefined();
    const drives = await w.cli(['drives', '--json']);
    const record = (JSON.parse(drives.stdout) as { drives: { record: { recentNewBytes: number[]; freeBytes: number } }[] }).drives[0]?.record;
    expect(record?.recentNewBytes).toEqual([5 * MiB, 5 * MiB]);
    const left = Math.floor((record?.freeBytes ?? 0) / (5 * MiB));
    expect(left).toBeGreaterThan(0);
    expect((await w.cli(['drives'])).stdout).toContain(`full in about ${left} backups`);

    // Fill the drive beside the backups until less than one typical backup fits.
    await fs.writeFile(path.join(w.drive, 'filler'), Buffer.alloc(Math.max(0, (record?.freeBytes ?? 0) - 3 * MiB)));
    await fs.rm(marker, { force: true });
    const before = await w.completeSnapshots();
    const refused = await backupWithNew(w, 'c.bin', 5 * MiB, 1);
    expect(refused.messages.join('\n')).toMatch(/drive "d1" has [\d.]+ MiB free, and its recent backups each copied about 5\.00 MiB: this one would most likely fill it before it completes, so nothing was copied/);
    expect(refused.messages.join('\n')).toContain('prune d1 --dry-run');
    expect(await w.completeSnapshots()).toEqual(before);
    expect(await fs.stat(marker).catch(() => undefined)).toBeUndefined();
    expect((await fs.readdir(w.snapshots)).filter((n) => n.endsWith('.incomplete'))).toEqual([]);
  });
});
