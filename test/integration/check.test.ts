// `plugback check` on snapshots made by real backups (the real CLI as root, real rsync), on an ext4 and a btrfs
// image file (loop-mounted, never a host disk): every backup records its checksum list, a byte flipped in an old
// snapshot's file is found by --all and by a sample that covers it, on btrfs through the drive image itself (as
// bit rot would be) with `btrfs scrub` agreeing; missing files, lists that are links, and the exit codes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';
import { flipByte } from '../helpers/bit-rot.js';
import { expectDocument } from '../helpers/json-shapes.js';

const execFileP = promisify(execFile);
const workspaces: Workspace[] = [];
const holders: ChildProcess[] = [];
afterEach(async () => {
  for (const h of holders.splice(0)) if (h.exitCode === null && h.signalCode === null) process.kill(-(h.pid as number));
  for (const w of workspaces.splice(0)) await w.cleanup();
});

/** Bigger than btrfs keeps inline in its metadata (which has a second copy): its blocks are data, single copy. */
const MARKED = `${'PLUGBACK-BIT-ROT-MARKER '.repeat(4000)}\n`;

/** A workspace with two snapshots: the first holds old.txt (changed before the second) and marked.txt. */
async function twoSnapshots(kind: 'ext4' | 'btrfs'): Promise<{ w: Workspace; first: string; second: string; runs: string[][] }> {
  const w = await Workspace.create(kind);
  workspaces.push(w);
  await fs.writeFile(path.join(w.src, 'old.txt'), 'the first version\n');
  await fs.writeFile(path.join(w.src, 'marked.txt'), MARKED);
  const runs: string[][] = [];
  const one = await w.cli(['run', 'd1']);
  expect(one.code, shown(one)).toBe(0);
  runs.push(one.messages);
  await sleep(1100);
  await fs.writeFile(path.join(w.src, 'old.txt'), 'the second version\n');
  const two = await w.cli(['run', 'd1']);
  expect(two.code, shown(two)).toBe(0);
  runs.push(two.messages);
  const [first, second] = (await w.completeSnapshots()) as [string, string];
  return { w, first, second, runs };
}

const inSnapshot = (w: Workspace, name: string, file: string) => path.join(w.snapshots, name, 'photos', w.src, file);

describe.each(['ext4', 'btrfs'] as const)('plugback check on %s', (kind) => {
  it('finds nothing wrong on a healthy drive, and the second run hashed only what it copied', async () => {
    const { w, first, second, runs } = await twoSnapshots(kind);
    // 23 files in the source; the second run copied one of them again.
    expect(runs[0]?.join('\n')).toContain('checksums of 23 files recorded (23 files');
    expect(runs[1]?.join('\n')).toContain(`checksums of 23 files recorded (1 files`);
    expect(runs[1]?.join('\n')).toContain(`the rest unchanged since snapshot ${first}`);
    const list = gunzipSync(await fs.readFile(path.join(w.snapshots, second, 'checksums.gz'))).toString();
    expect(list.split('\n')[0]).toBe('plugback-checksums 1 sha256');
    expect(list).toMatch(new RegExp(`^[0-9a-f]{64} 19 \\d+ \\d+ photos${w.src}/old.txt$`, 'm'));

    const all = await w.cli(['check', 'd1', '--all']);
    expect(all.code, shown(all)).toBe(0);
    expect(all.stdout).toContain('checked every file of 2 snapshots: 24 files');
    expect(all.stdout).toContain('(22 more are the same files as in an older snapshot, read once)');
    expect(all.stdout).toContain('no damage found on drive "d1"');
    const sample = await w.cli(['check', 'd1', '--sample', '5', '--json']);
    expect(sample.code, shown(sample)).toBe(0);
    const doc = expectDocument('check', sample.stdout) as { mode: string; read: number; files: number; clean: boolean };
    expect(doc).toMatchObject({ mode: 'sample', read: 5, files: 46, clean: true });
  });

  it('finds a byte flipped in a file of the old snapshot, with --all and with a sample that covers every file', async () => {
    const { w, first } = await twoSnapshots(kind);
    if (kind === 'ext4') {
      await flipByte(inSnapshot(w, first, 'old.txt'));
    } else {
      // A btrfs snapshot is read-only: the damage goes into the image, where the data blocks are.
      const image = path.join(w.dir, 'drive.img');
      await execFileP('umount', [w.drive]);
      const data = await fs.readFile(image);
      const at = data.indexOf('PLUGBACK-BIT-ROT-MARKER');
      expect(at).toBeGreaterThan(0);
      data[at] = (data[at] as number) ^ 1;
      await fs.writeFile(image, data);
      // Read-only, as `plugback open` leaves a drive: scrub must not need to write (it would fail with EROFS).
      await execFileP('mount', ['-o', 'loop,ro', image, w.drive]);
    }
    const damaged = kind === 'ext4' ? 'old.txt has different content than when it was backed up' : 'marked.txt cannot be read (EIO)';
    const all = await w.cli(['check', 'd1', '--all']);
    expect(all.code, shown(all)).toBe(1);
    expect(all.stdout).toContain(`DAMAGED  snapshot ${first}, state photos: ${w.src}/${damaged}`);
    expect(all.stdout).toContain('damage found: drive "d1" did not give back what was backed up');
    if (kind === 'btrfs') expect(all.stdout).toMatch(/btrfs scrub: .* of data blocks read, [1-9]\d* errors \([1-9]\d* uncorrectable\)/);
    const json = await w.cli(['check', 'd1', '--sample', '1000', '--json', '--no-scrub']);
    expect(json.code, shown(json)).toBe(1);
    const doc = expectDocument('check', json.stdout) as { damage: { snapshot: string; state: string; path: string }[]; clean: boolean; scrub: unknown };
    expect(doc.clean).toBe(false);
    expect(doc.scrub).toBeNull();
    expect(doc.damage).toContainEqual(expect.objectContaining({ snapshot: first, state: 'photos', path: `${w.src}/${kind === 'ext4' ? 'old.txt' : 'marked.txt'}` }));
  });
});

describe('plugback check --drill', () => {
  it('restores sampled files through plugback restore into a temporary folder, compares them, and removes the folder', async () => {
    const { w, first } = await twoSnapshots('ext4');
    const scratch = path.join(w.dir, 'tmp');
    await fs.mkdir(scratch, { mode: 0o700 });
    const env = { TMPDIR: scratch };
    const clean = await w.cli(['check', 'd1', '--drill', '--sample', '1000'], { env });
    expect(clean.code, shown(clean)).toBe(0);
    expect(clean.stdout).toContain('restored and checked 46 files picked at random from the 46 listed in 2 snapshots');
    await flipByte(inSnapshot(w, first, 'old.txt'));
    const found = await w.cli(['check', 'd1', '--drill', '--sample', '1000', '--json'], { env });
    expect(found.code, shown(found)).toBe(1);
    const doc = expectDocument('check', found.stdout) as { mode: string; damage: { snapshot: string; path: string; problem: string }[] };
    expect(doc.mode).toBe('drill');
    expect(doc.damage).toEqual([{ snapshot: first, state: 'photos', path: `${w.src}/old.txt`, key: `photos${w.src}/old.txt`, problem: 'was restored with different content than when it was backed up' }]);
    expect(await fs.readdir(scratch)).toEqual([]);
    expect(await fs.readFile(path.join(w.src, 'old.txt'), 'utf8')).toBe('the second version\n');
  });
});

describe('plugback check when something is wrong', () => {
  it('backs up and checks files whose names are not text (a newline, bytes that are not UTF-8)', async () => {
    const w = await Workspace.create('ext4');
    workspaces.push(w);
    const odd = Buffer.concat([Buffer.from(`${w.src}/sub/line`), Buffer.from([0x0a, 0xff, 0x25])]);
    await fs.writeFile(odd, 'odd\n');
    const r = await w.cli(['run', 'd1']);
    expect(r.code, shown(r)).toBe(0);
    const clean = await w.cli(['check', 'd1', '--all']);
    expect(clean.code, shown(clean)).toBe(0);
    const [name] = await w.completeSnapshots();
    const copy = Buffer.concat([Buffer.from(`${w.snapshots}/${name}/photos`), odd]);
    await fs.writeFile(copy, 'ODD\n');
    const found = await w.cli(['check', 'd1', '--all', '--json']);
    expect(found.code, shown(found)).toBe(1);
    const doc = expectDocument('check', found.stdout) as { damage: { path: string; key: string }[] };
    expect(doc.damage).toEqual([expect.objectContaining({ path: `${w.src}/sub/line%0A%FF%25`, key: `photos${w.src}/sub/line%0A%FF%25` })]);
  });

  it('reports a missing file and a checksum list that is a link (never followed), and reads a snapshot without a list', async () => {
    const { w, first, second } = await twoSnapshots('ext4');
    await fs.rm(inSnapshot(w, second, 'p3.jpg'));
    await fs.copyFile(path.join(w.snapshots, first, 'checksums.gz'), path.join(w.dir, 'first-list.gz'));
    await fs.rm(path.join(w.snapshots, first, 'checksums.gz'));
    const r = await w.cli(['check', 'd1', '--all']);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stdout).toContain(`DAMAGED  snapshot ${second}, state photos: ${w.src}/p3.jpg is missing from the drive`);
    expect(r.stdout).toContain(`1 snapshots have no checksum list (made before plugback recorded them): their files were read for errors, not compared: ${first}`);
    // With no list in the first snapshot, the second's files are all read again (nothing is known to be right).
    expect(r.stdout).toContain('checked every file of 2 snapshots: 45 files');

    await fs.symlink(path.join(w.dir, 'first-list.gz'), path.join(w.snapshots, first, 'checksums.gz'));
    const linked = await w.cli(['check', 'd1', '--all', '--json']);
    expect(linked.code, shown(linked)).toBe(1);
    const doc = expectDocument('check', linked.stdout) as { damage: { snapshot: string; problem: string }[] };
    expect(doc.damage).toContainEqual(expect.objectContaining({ snapshot: first, problem: expect.stringContaining('checksums.gz cannot be opened: ELOOP') }));
  });

  it('a damaged list in the previous snapshot makes the next backup hash every file again, and say so', async () => {
    const { w, second } = await twoSnapshots('ext4');
    await fs.writeFile(path.join(w.snapshots, second, 'checksums.gz'), 'not gzip at all');
    await sleep(1100);
    const r = await w.cli(['run', 'd1']);
    expect(r.code, shown(r)).toBe(3);
    expect(r.messages.join('\n')).toContain(`the checksum list of snapshot ${second} is damaged`);
    expect(r.messages.join('\n')).toContain('checksums of 23 files recorded (23 files');
    const check = await w.cli(['check', 'd1', '--all']);
    expect(check.stdout).toContain(`snapshot ${second}: its (checksum list) is damaged`);
  });

  it('exits 2 when it cannot check, and 75 while the lock is held', async () => {
    const { w } = await twoSnapshots('ext4');
    const both = await w.cli(['check', 'd1', '--all', '--sample', '3']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --all or --sample N, not both');
    const lockFile = path.join(w.dir, 'lock', 'plugback.lock');
    // Its own process group: flock's child `sleep` holds the lock too, and goes with it.
    const holder = spawn('flock', [lockFile, 'sleep', '30'], { stdio: 'ignore', detached: true });
    holders.push(holder);
    await sleep(300);
    const busy = await w.cli(['check', 'd1']);
    expect(busy.code, shown(busy)).toBe(75);
    expect(busy.stderr).toContain('nothing was checked');
    process.kill(-(holder.pid as number));
    await new Promise((resolve) => holder.once('exit', resolve));
    await fs.rm(path.join(w.drive, 'plugback', 'drive.json'));
    const gone = await w.cli(['check', 'd1']);
    expect(gone.code, shown(gone)).toBe(2);
    expect(gone.stderr).toContain('carries no plugback identity');
  });
});
