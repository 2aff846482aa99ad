// Which whole disk SMART is read from, on real loop devices: a partition's disk, the disk itself, the device under a
// mounted directory target, and the refusals (no device, a file system without one).
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Drive } from '../../src/config/model.js';
import { backingDiskOf, diskOfDevice } from '../../src/system/backing-disk.js';

const run = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups.length = 0;
});

/** A loop device over a 32 MiB image with one partition holding ext4; its disk and partition node. */
async function partitionedLoop(): Promise<{ disk: string; partition: string; dir: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-disk-'));
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  const image = path.join(dir, 'disk.img');
  await run('truncate', ['-s', '32M', image]);
  await run('sh', ['-c', `echo 'start=2048, type=83' | sfdisk -q '${image}'`]);
  const disk = (await run('losetup', ['-f', '--show', '-P', image])).stdout.trim();
  cleanups.push(() => run('losetup', ['-d', disk]));
  // This kernel's loop driver does not scan partitions by itself (max_part=0): partx adds them.
  await run('partx', ['-a', disk]).catch(() => undefined);
  cleanups.push(() => run('partx', ['-d', disk]));
  // Without udev (a container) the kernel has the partition but nobody makes /dev/loopNp1: make its node here.
  const name = `${path.basename(disk)}p1`;
  const numbers = (await fs.readFile(`/sys/class/block/${name}/dev`, 'utf8')).trim().split(':');
  const partition = path.join(dir, name);
  await run('mknod', [partition, 'b', ...(numbers as [string, string])]);
  return { disk, partition, dir };
}

const directory = (p: string): Drive => ({ kind: 'directory', name: 'd1', path: p, health: 'refuse' });

describe('the disk under a drive', () => {
  it('a partition is read through its whole disk, and a whole disk is itself', async () => {
    const { disk, partition } = await partitionedLoop();
    expect(await diskOfDevice(partition)).toEqual({ disk });
    expect(await diskOfDevice(disk)).toEqual({ disk });
  });

  it('a directory target on a mounted partition is on that partition\'s disk', async () => {
    const { disk, partition, dir } = await partitionedLoop();
    await run('mkfs.ext4', ['-q', '-F', partition]);
    const mnt = path.join(dir, 'mnt');
    await fs.mkdir(mnt);
    await run('mount', [partition, mnt]);
    cleanups.push(() => run('umount', [mnt]));
    await fs.mkdir(path.join(mnt, 'backups'));
    expect(await backingDiskOf(directory(path.join(mnt, 'backups')))).toEqual({ disk });
  });

  it('a directory on tmpfs has no disk: skipped with the reason', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-tmpfs-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    cleanups.push(() => run('umount', [dir]));
    expect(await backingDiskOf(directory(dir))).toEqual({ skip: `${dir} is on tmpfs (tmpfs), not on a disk` });
  });

  it('a file that is not a block device, and a LUKS drive whose container is not plugged in, are skipped', async () => {
    expect(await diskOfDevice('/etc/hostname')).toEqual({ skip: '/etc/hostname is not a block device' });
    const luks: Drive = { kind: 'luks', name: 'away', uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', keyFile: '/k', cryptName: 'plugback-away', mountPoint: '/run/plugback/away', deviceTimeout: 1, btrfsCompression: 'off', health: 'refuse' };
    expect(await backingDiskOf(luks)).toEqual({ skip: '/dev/disk/by-uuid/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 is not there, so the disk under drive "away" is unknown' });
  });
});
