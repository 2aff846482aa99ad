// `plugback archive` and `plugback archive restore` end to end: a real snapshot made by the real `plugback run`
// of a tree with every kind of metadata (odd names, hard links, ACLs, xattrs, a sparse file, modes, owners),
// archived through GNU tar, zstd or gzip and the real gpg with a throw-away key made here, unpacked (by hand,
// as docs/archives.md says, and by plugback) and compared with the snapshot entry by entry.
// Needs root, tar, zstd, gzip, gpg (gnupg) and the attr/acl tools.
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseArchiveName, weekdayOf } from '../../src/archive/naming.js';
import { parseSnapshotName } from '../../src/repo/layout.js';
import { CLI, shown, Workspace } from '../helpers/cli-workspace.js';
import { throwAwayKey, type TestKey } from '../helpers/gpg-key.js';
import { sq } from '../helpers/processes.js';
import { buildFidelityTree } from '../helpers/tree-build.js';
import { diffTrees, snapshotTree } from '../helpers/tree.js';

let key: TestKey;
let gnupgHome = '';
let fingerprint = '';
const workspaces: Workspace[] = [];
const pids: number[] = [];

beforeAll(async () => {
  // A keyring of the test's own, for this process and every plugback and gpg it starts.
  key = await throwAwayKey();
  ({ home: gnupgHome, fingerprint } = key);
});

afterEach(async () => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await key.stopAgent();
  for (const w of workspaces.splice(0)) await w.cleanup();
});

afterAll(async () => {
  await key?.remove();
});

/** A workspace whose drive holds one snapshot (made by `plugback run`) of `fill`'s tree; returns it and the snapshot's name. */
async function snapshotOf(fill: (src: string) => Promise<void>): Promise<{ w: Workspace; snapshot: string; out: string }> {
  const w = await Workspace.create();
  workspaces.push(w);
  await fill(w.src);
  const run = await w.cli(['run', 'd1']);
  expect(run.code, shown(run)).toBe(0);
  const [snapshot] = await w.completeSnapshots();
  const out = path.join(w.dir, 'archives');
  await fs.mkdir(out, { mode: 0o700 });
  return { w, snapshot: snapshot as string, out };
}

async function fidelity(src: string): Promise<void> {
  await buildFidelityTree(src);
  await fs.writeFile(path.join(src, 'owned-1234.txt'), 'owned by 1234\n', { mode: 0o640 });
  await fs.chown(path.join(src, 'owned-1234.txt'), 1234, 1234);
}

/** Entry-by-entry differences between the snapshot's state folder and the same folder unpacked from an archive. */
async function differences(w: Workspace, snapshot: string, unpacked: string): Promise<string[]> {
  return diffTrees(await snapshotTree(path.join(w.snapshots, snapshot, 'photos')), await snapshotTree(path.join(unpacked, 'photos')));
}

const sha256 = async (file: string) => createHash('sha256').update(await fs.readFile(file)).digest('hex');

/** The archives of host h1 in a folder, by their names as plugback parses them. */
async function archivesIn(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => parseArchiveName('h1', n)).sort();
}

describe('plugback archive of a real snapshot', () => {
  it('encrypts to a public key, opens with plain gpg | zstd | tar, and matches the snapshot entry by entry', async () => {
    const { w, snapshot, out } = await snapshotOf(fidelity);
    const r = await w.cli(['archive', 'd1', '--to', out, '--recipient', fingerprint]);
    expect(r.code, shown(r)).toBe(0);
    const file = path.join(out, `h1-${snapshot}.tar.zst.gpg`);
    expect(r.stdout).toContain(`archived snapshot ${snapshot} of host h1 to ${file}`);
    expect(r.stderr).toMatch(/archive: .* written/);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await fs.readdir(out)).toEqual([path.basename(file)]);

    // By hand, the way docs/archives.md says: nothing of plugback's is needed to open it.
    const unpacked = path.join(w.dir, 'by-hand');
    await fs.mkdir(unpacked);
    const tar = `tar -x --xattrs --xattrs-include='*' --acls --numeric-owner --same-owner -C ${sq(unpacked)}`;
    await execa('sh', ['-c', `gpg --batch --quiet --decrypt ${sq(file)} | zstd -d -q | ${tar}`]);
    expect(await differences(w, snapshot, unpacked)).toEqual([]);

    // The comparison covers these; spelled out because they are what tar options are for.
    const sparse = await fs.stat(path.join(unpacked, 'photos', w.src, 'sparse.bin'));
    expect(sparse.blocks * 512).toBeLessThan(sparse.size / 2);
    const twin = await fs.stat(path.join(unpacked, 'photos', w.src, 'links', 'hardlink-twin.txt'));
    expect(twin.ino).toBe((await fs.stat(path.join(unpacked, 'photos', w.src, 'links', 'target.txt'))).ino);
    const owned = await fs.stat(path.join(unpacked, 'photos', w.src, 'owned-1234.txt'));
    expect([owned.uid, owned.gid, owned.mode & 0o777]).toEqual([1234, 1234, 0o640]);
  });

  it('encrypts symmetrically with a passphrase file, with gzip, and plugback archive restore unpacks it exactly', async () => {
    const { w, snapshot, out } = await snapshotOf(fidelity);
    const pass = path.join(w.dir, 'archive.pass');
    await fs.writeFile(pass, 'correct horse battery staple\n', { mode: 0o640 });
    const refused = await w.cli(['archive', 'd1', '--to', out, '--compress', 'gzip', '--passphrase-file', pass]);
    expect(refused.code, shown(refused)).toBe(1);
    expect(refused.stderr).toContain(`the passphrase file ${pass} can be read or written by group or others (mode 640)`);
    expect(refused.stderr).toContain(`chmod 600 ${pass}`);
    expect(await fs.readdir(out)).toEqual([]);

    await fs.chmod(pass, 0o600);
    const r = await w.cli(['archive', 'd1', '--to', out, '--compress', 'gzip', '--passphrase-file', pass]);
    expect(r.code, shown(r)).toBe(0);
    const file = path.join(out, `h1-${snapshot}.tar.gz.gpg`);
    expect(r.stdout).toContain(file);
    // Not a plain gzip stream: the compressed tar only exists inside gpg.
    expect((await fs.readFile(file)).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);

    const unpacked = path.join(w.dir, 'restored');
    const u = await w.cli(['archive', 'restore', file, '--to', unpacked, '--passphrase-file', pass, '--yes']);
    expect(u.code, shown(u)).toBe(0);
    expect(u.stdout).toContain(`unpacked ${file} into ${unpacked}`);
    expect(await differences(w, snapshot, unpacked)).toEqual([]);
  });

  it('encrypts to every key in a keyring file, which the secret key then opens', async () => {
    const { w, snapshot, out } = await snapshotOf(async (src) => fs.writeFile(path.join(src, 'note.txt'), 'keyring\n'));
    const keyring = path.join(w.dir, 'recipients.asc');
    await fs.writeFile(keyring, (await execa('gpg', ['--batch', '--armor', '--export', fingerprint])).stdout);
    const r = await w.cli(['archive', 'd1', '--to', out, '--keyring', keyring]);
    expect(r.code, shown(r)).toBe(0);
    const unpacked = path.join(w.dir, 'restored');
    const u = await w.cli(['archive', 'restore', path.join(out, `h1-${snapshot}.tar.zst.gpg`), '--to', unpacked, '--yes']);
    expect(u.code, shown(u)).toBe(0);
    expect(await differences(w, snapshot, unpacked)).toEqual([]);
  });

  it('refuses an unknown recipient and a folder that another user owns or others may write, before writing anything', async () => {
    const { w, out } = await snapshotOf(async (src) => fs.writeFile(path.join(src, 'note.txt'), 'refusals\n'));
    const unknown = 'AAAABBBBCCCCDDDDEEEEFFFF0000111122223333';
    const r = await w.cli(['archive', 'd1', '--to', out, '--recipient', unknown]);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`there is no public key ${unknown} in the keyring gpg uses (${gnupgHome}): import it with gpg --import KEYFILE`);

    await fs.chown(out, 65534, 65534);
    const foreign = await w.cli(['archive', 'd1', '--to', out]);
    expect(foreign.code, shown(foreign)).toBe(1);
    expect(foreign.stderr).toContain(`${out} belongs to user 65534`);
    await fs.chown(out, 0, 0);
    await fs.chmod(out, 0o777);
    const open = await w.cli(['archive', 'd1', '--to', out]);
    expect(open.code, shown(open)).toBe(1);
    expect(open.stderr).toContain(`${out} is writable by group or others (mode 777) without the sticky bit`);
    expect(await fs.readdir(out)).toEqual([]);
  });

  it('names both, links the rolling name to the dated file, and --keep leaves the newest N dated archives and every other file', async () => {
    const { w, snapshot, out } = await snapshotOf(async (src) => fs.writeFile(path.join(src, 'note.txt'), 'retention\n'));
    const planted = ['h1-2020-01-01T000000Z.tar.zst', 'h1-2020-01-02T000000Z.tar.gz.gpg', 'h1-2020-01-03T000000Z.tar.zst'];
    const untouchable = ['h1-2019-01-01T000000Z.tar.zst.bak', 'other-2019-01-01T000000Z.tar.zst', 'notes.txt', 'h1-5.tar.zst'];
    for (const name of [...planted, ...untouchable]) await fs.writeFile(path.join(out, name), `old ${name}\n`);

    const r = await w.cli(['archive', 'd1', '--to', out, '--name', 'both', '--keep', '2', '--owner', '1234:4321']);
    expect(r.code, shown(r)).toBe(0);
    const dated = `h1-${snapshot}.tar.zst`;
    const st = await fs.stat(path.join(out, dated));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1234, 4321, 0o600]);
    const rolling = `h1-${weekdayOf(parseSnapshotName(snapshot) as Date)}.tar.zst`;
    expect((await fs.stat(path.join(out, rolling))).ino).toBe((await fs.stat(path.join(out, dated))).ino);
    const expected = [dated, 'h1-2020-01-03T000000Z.tar.zst', ...untouchable, ...(rolling === 'h1-5.tar.zst' ? [] : [rolling])];
    expect((await fs.readdir(out)).sort()).toEqual([...new Set(expected)].sort());
    for (const name of untouchable.filter((n) => n !== rolling)) expect(await fs.readFile(path.join(out, name), 'utf8')).toBe(`old ${name}\n`);
    expect(r.stdout).toContain(`deleted the older dated archive ${path.join(out, 'h1-2020-01-01T000000Z.tar.zst')}`);
  });
});

describe('a rolling archive interrupted half way', () => {
  it('leaves last week\'s archive byte-identical and no half-written file under an archive\'s name', async () => {
    // Random bytes do not compress, so the archive is as big as the data; the bandwidth limit makes it slow enough to kill.
    const { w, snapshot, out } = await snapshotOf((src) => fs.writeFile(path.join(src, 'big.bin'), randomBytes(16 * 1024 * 1024)));
    const first = await w.cli(['archive', 'd1', '--to', out, '--name', 'rolling']);
    expect(first.code, shown(first)).toBe(0);
    const [rolling] = await archivesIn(out);
    const before = await sha256(path.join(out, rolling as string));

    await w.writeConfig('bandwidthLimit: 4MiB');
    const child = spawn(process.execPath, [CLI, 'archive', 'd1', '--to', out, '--name', 'rolling', '--snapshot', snapshot, '--config', w.config], { stdio: 'ignore' });
    pids.push(child.pid as number);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const temp = await waitForTemp(out, rolling as string, 8 * 1024 * 1024);
    child.kill('SIGKILL');
    await exited;
    // Its tar, zstd and gpg read the snapshot through /proc/<its pid>/fd/: with the pipe to it broken, they end too.
    await waitUntilGone(`/proc/${child.pid}/fd/`);

    expect(await archivesIn(out)).toEqual([rolling]);
    expect(await sha256(path.join(out, rolling as string))).toBe(before);
    // What is left is hidden and not named like an archive.
    const left = (await fs.readdir(out)).filter((n) => n !== rolling);
    expect(left).toEqual([temp]);
    expect(temp).toMatch(/^\.h1-[0-6]\.tar\.zst\.[0-9a-f]{24}\.tmp$/);

    await w.writeConfig();
    const again = await w.cli(['archive', 'd1', '--to', out, '--name', 'rolling']);
    expect(again.code, shown(again)).toBe(0);
    expect(await archivesIn(out)).toEqual([rolling]);
  });
});

describe('a rolling archive cancelled half way (SIGTERM, as Ctrl-C)', () => {
  it('stops tar, zstd and gpg, removes the half-written file and leaves last week\'s archive as it was', async () => {
    const { w, out } = await snapshotOf((src) => fs.writeFile(path.join(src, 'big.bin'), randomBytes(16 * 1024 * 1024)));
    const first = await w.cli(['archive', 'd1', '--to', out, '--name', 'rolling', '--recipient', fingerprint]);
    expect(first.code, shown(first)).toBe(0);
    const [rolling] = await archivesIn(out);
    const before = await sha256(path.join(out, rolling as string));

    await w.writeConfig('bandwidthLimit: 4MiB');
    const child = spawn(process.execPath, [CLI, 'archive', 'd1', '--to', out, '--name', 'rolling', '--recipient', fingerprint, '--config', w.config], { stdio: ['ignore', 'ignore', 'pipe'] });
    pids.push(child.pid as number);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await waitForTemp(out, rolling as string, 4 * 1024 * 1024);
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(1);
    expect(stderr).toContain(`archive cancelled: tar, zstd and gpg were stopped and the half-written file removed; ${path.join(out, rolling as string)} is as it was`);
    await waitUntilGone(`/proc/${child.pid}/fd/`);
    expect(await fs.readdir(out)).toEqual([rolling]);
    expect(await sha256(path.join(out, rolling as string))).toBe(before);
  });
});

describe('plugback archive restore', () => {
  it('refuses a --to that is not empty, and changes nothing in it', async () => {
    const { w, out } = await snapshotOf(async (src) => fs.writeFile(path.join(src, 'note.txt'), 'restore\n'));
    const r = await w.cli(['archive', 'd1', '--to', out]);
    expect(r.code, shown(r)).toBe(0);
    const [file] = await archivesIn(out);
    const busy = path.join(w.dir, 'busy');
    await fs.mkdir(busy);
    await fs.writeFile(path.join(busy, 'keep.txt'), 'mine\n');
    const u = await w.cli(['archive', 'restore', path.join(out, file as string), '--to', busy, '--yes']);
    expect(u.code, shown(u)).toBe(2);
    expect(u.stderr).toContain(`${busy} is not empty (it holds 1 entry)`);
    expect(await fs.readdir(busy)).toEqual(['keep.txt']);

    const ask = await w.cli(['archive', 'restore', path.join(out, file as string), '--to', path.join(w.dir, 'new')]);
    expect(ask.code, shown(ask)).toBe(2);
    expect(ask.stderr).toContain('stdin is not a terminal, so it cannot ask: add --yes');
  });
});

/** Waits for the hidden temp file beside `name` to hold `bytes`; returns its name. */
async function waitForTemp(dir: string, name: string, bytes: number): Promise<string> {
  for (let i = 0; i < 1200; i++) {
    for (const entry of await fs.readdir(dir)) {
      if (!entry.startsWith(`.${name}.`)) continue;
      const st = await fs.stat(path.join(dir, entry)).catch(() => undefined);
      if (st && st.size >= bytes) return entry;
    }
    await sleep(25);
  }
  throw new Error(`no temporary archive of ${bytes} bytes appeared in ${dir}`);
}

/** Waits until no process has `text` in its command line. */
async function waitUntilGone(text: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    let found = false;
    for (const entry of await fs.readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(text)) found = true;
    }
    if (!found) return;
    await sleep(50);
  }
  throw new Error(`processes mentioning ${text} are still running`);
}
