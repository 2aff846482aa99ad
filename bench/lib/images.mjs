// Loop-mounted file-system images for the benchmarks: image files in the work directory only (never a host block
// device), mounted with `mount -o loop` (the loop device goes with the unmount) and unmounted by path at the end.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { BenchError } from './work-dir.mjs';

const mounted = [];

/** Whether mkfs for `fs` is installed (btrfs needs btrfs-progs). */
export function canMake(fs) {
  return spawnSync(`mkfs.${fs}`, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A sparse image of `bytes` with a new `fs` on it, mounted at <work>/mnt-<name>; returns the mount point. */
export function mountedImage(work, name, fs, bytes) {
  const image = join(work, `${name}.img`);
  const fd = openSync(image, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
  const mkfs = fs === 'btrfs' ? ['-q', '-f', image] : ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image];
  must(`mkfs.${fs}`, mkfs);
  const mnt = join(work, `mnt-${name}`);
  mkdirSync(mnt);
  must('mount', ['-o', 'loop,noatime', image, mnt]);
  mounted.push(mnt);
  return mnt;
}

/** Unmounts every image this process mounted (lazily if busy), newest first. */
export function unmountImages() {
  while (mounted.length) {
    const mnt = mounted.pop();
    if (spawnSync('umount', [mnt], { stdio: 'ignore' }).status !== 0) spawnSync('umount', ['-l', mnt], { stdio: 'ignore' });
  }
}

function must(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new BenchError(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}
