// drives.<name>.archive: the real `plugback run` makes an archive of the snapshot it just completed (real tar,
// zstd and gpg with a throw-away key), keeps `keep` dated ones, and a failed archive leaves a complete backup
// that ends with a warning (exit 3) and says so in the mail. And the lock: `plugback archive` waits for a real
// flock(1) holder and gives up naming it, and a backup that finds an archive holding the lock names "an archive".
// Needs root, rsync, flock, tar, zstd and gpg.
import { execa } from 'execa';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseArchiveName, weekdayOf } from '../../src/archive/naming.js';
import { parseSnapshotName } from '../../src/repo/layout.js';
import { CLI, shown, Workspace } from '../helpers/cli-workspace.js';
import { throwAwayKey, type TestKey } from '../helpers/gpg-key.js';
import { sq } from '../helpers/processes.js';
import { buildFidelityTree } from '../helpers/tree-build.js';
import { diffTrees, snapshotTree } from '../helpers/tree.js';

let key: TestKey;
const workspaces: Workspace[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  key = await throwAwayKey();
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await key.stopAgent();
  for (const w of workspaces.splice(0)) await w.cleanup();
});

afterAll(async () => {
  await key?.remove();
});

async function workspace(): Promise<Workspace> {
  const w = await Workspace.create();
  workspaces.push(w);
  await fs.mkdir(path.dirname(lockFile(w)), { recursive: true, mode: 0o700 });
  return w;
}

const lockFile = (w: Workspace) => path.join(w.dir, 'lock', 'plugback.lock');

/** Changes the workspace's config: `edit` gets the parsed YAML. */
async function configure(w: Workspace, edit: (doc: { drives: { d1: Record<string, unknown> }; backup: Record<string, unknown>; [key: string]: unknown }) => void): Promise<void> {
  const doc = parse(await fs.readFile(w.config, 'utf8')) as Parameters<typeof edit>[0];
  edit(doc);
  await fs.writeFile(w.config, stringify(doc));
}

/** The dated archives of host h1 in `dir`, by snapshot, oldest first. */
async function datedArchives(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => parseArchiveName('h1', n)?.kind === 'dated').sort();
}

/** A process started for the test, its output collected; killed by PID after the test if still running. */
function start(command: string, args: string[]): { child: ChildProcessWithoutNullStreams; out: () => string; exited: Promise<number | null> } {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, out: () => out, exited };
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** flock(1) holding the workspace's lock until its stdin is closed. */
async function holdLock(w: Workspace) {
  const holder = start('flock', [lockFile(w), 'sh', '-c', 'echo locked; read line']);
  await until('flock(1) to take the lock', () => holder.out().includes('locked'));
  return holder;
}

describe('a backup onto a drive with archive: in the config', () => {
  it('archives each new snapshot, encrypted to the key, that opens to the snapshot entry by entry; naming both, keep 2', async () => {
    const w = await workspace();
    await buildFidelityTree(w.src);
    const out = path.join(w.dir, 'archives');
    await configure(w, (doc) => {
      doc.drives.d1.archive = { to: out, naming: 'both', keep: 2, recipients: [key.fingerprint] };
    });

    const first = await w.cli(['run', 'd1']);
    expect(first.code, shown(first)).toBe(0);
    const [snapshot] = await w.completeSnapshots();
    const file = path.join(out, `h1-${snapshot}.tar.zst.gpg`);
    expect(first.messages).toContain(`archiving snapshot ${snapshot} into ${out}`);
    expect(first.messages.some((m) => m.startsWith(`archived snapshot ${snapshot} to ${file} and `))).toBe(true);
    expect((await fs.stat(out)).mode & 0o777).toBe(0o700);
    const unpacked = path.join(w.dir, 'unpacked');
    await fs.mkdir(unpacked);
    const tar = `tar -x --xattrs --xattrs-include='*' --acls --numeric-owner --same-owner -C ${sq(unpacked)}`;
    await execa('sh', ['-c', `gpg --batch --quiet --decrypt ${sq(file)} | zstd -d -q | ${tar}`]);
    expect(diffTrees(await snapshotTree(path.join(w.snapshots, snapshot as string, 'photos')), await snapshotTree(path.join(unpacked, 'photos')))).toEqual([]);

    for (const round of [2, 3]) {
      await fs.writeFile(path.join(w.src, `round-${round}.txt`), `round ${round}\n`);
      const r = await w.cli(['run', 'd1']);
      expect(r.code, shown(r)).toBe(0);
    }
    const snapshots = await w.completeSnapshots();
    expect(snapshots).toHaveLength(3);
    const newest = snapshots.at(-1) as string;
    expect(await datedArchives(out)).toEqual(snapshots.slice(1).map((s) => `h1-${s}.tar.zst.gpg`));
    const rolling = path.join(out, `h1-${weekdayOf(parseSnapshotName(newest) as Date)}.tar.zst.gpg`);
    expect((await fs.stat(rolling)).ino).toBe((await fs.stat(path.join(out, `h1-${newest}.tar.zst.gpg`))).ino);
    const { stdout } = await execa('sh', ['-c', `gpg --batch --quiet --decrypt ${sq(rolling)} | zstd -d -q | tar -t`]);
    expect(stdout).toContain(`photos${w.src}/round-3.txt`);
  });

  it('ends with a warning (exit 3) when the archive fails, keeps the snapshot, mails what to do, and the command it names works', async () => {
    const w = await workspace();
    const out = path.join(w.dir, 'archives');
    const mailLog = path.join(w.dir, 'mail.log');
    const sendmail = path.join(w.dir, 'sendmail');
    await fs.writeFile(sendmail, `#!/bin/sh\ncat >> ${sq(mailLog)}\n`, { mode: 0o755 });
    const unknown = 'AAAABBBBCCCCDDDDEEEEFFFF0000111122223333';
    await configure(w, (doc) => {
      doc.drives.d1.archive = { to: out, recipients: [unknown] };
      doc.mail = { to: 'admin@example.org', sendmail: { path: sendmail } };
    });
    const r = await w.cli(['run', 'd1']);
    expect(r.code, shown(r)).toBe(3);
    const [snapshot] = await w.completeSnapshots();
    expect(snapshot).toBeDefined();
    const warning = `snapshot ${snapshot} is complete, but its archive into ${out} failed: there is no public key ${unknown} in the keyring gpg uses (${key.home})`;
    const hint = `then make it with: plugback archive d1 --snapshot ${snapshot} --to ${out} --recipient ${unknown}`;
    expect(r.messages.find((m) => m.startsWith(warning)), shown(r)).toContain(hint);
    expect(r.messages.some((m) => m.startsWith(`backup of "d1" finished with warnings: snapshot ${snapshot} in `))).toBe(true);
    const mail = (await fs.readFile(mailLog, 'utf8')).replace(/=\r?\n/g, '').replace(/\r?\n\s+/g, ' ');
    expect(mail).toContain('finished with warnings');
    expect(mail).toContain(`there is no public key ${unknown}`);
    expect(await fs.readdir(out).catch(() => [])).toEqual([]);

    // The archive made by hand as the warning says, with a key that is there.
    const byHand = await w.cli(['archive', 'd1', '--snapshot', snapshot as string, '--to', out, '--recipient', key.fingerprint]);
    expect(byHand.code, shown(byHand)).toBe(0);
    expect(await fs.readdir(out)).toEqual([`h1-${snapshot}.tar.zst.gpg`]);

    // A folder that is a file: the same, and the next snapshot is complete too.
    const notAFolder = path.join(w.dir, 'a-file');
    await fs.writeFile(notAFolder, 'not a folder\n');
    await configure(w, (doc) => {
      doc.drives.d1.archive = { to: notAFolder };
    });
    const second = await w.cli(['run', 'd1']);
    expect(second.code, shown(second)).toBe(3);
    expect(await w.completeSnapshots()).toHaveLength(2);
    expect(second.messages.some((m) => m.includes(`its archive into ${notAFolder} failed: `))).toBe(true);
    expect(await fs.readFile(notAFolder, 'utf8')).toBe('not a folder\n');

    // An owner this machine does not know, named by its place in the config.
    await configure(w, (doc) => {
      doc.drives.d1.archive = { to: out, owner: 'no-such-user-pb' };
    });
    const third = await w.cli(['run', 'd1']);
    expect(third.code, shown(third)).toBe(3);
    expect(third.messages.some((m) => m.includes('there is no user "no-such-user-pb" on this machine (getent passwd no-such-user-pb found none): check the name given to drives.d1.archive.owner'))).toBe(true);
  });

  it('says so and makes no archive for a drive without archive:', async () => {
    const w = await workspace();
    const r = await w.cli(['run', 'd1']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.messages).toContain('no archive: drive "d1" has no archive: in the config');
  });
});

describe('plugback archive and the repository lock', () => {
  it('waits for a flock(1) holder, naming it, then gives up after backup.lockWait without writing anything', async () => {
    const w = await workspace();
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const out = path.join(w.dir, 'archives');
    const holder = await holdLock(w);
    const r = await w.cli(['archive', 'd1', '--to', out]);
    expect(r.code, shown(r)).toBe(1);
    const pid = holder.child.pid as number;
    expect(r.stderr).toContain(`plugback: waiting for the lock ${lockFile(w)}, held by PID ${pid} (flock ${lockFile(w)} sh -c`);
    expect(r.stderr).toContain(`the lock ${lockFile(w)} is held by PID ${pid} (flock `);
    expect(r.stderr).toContain('gave up after waiting 2s (backup.lockWait)');
    expect(await fs.readdir(out).catch(() => [])).toEqual([]);
  });

  it('proceeds once the holder lets go', async () => {
    const w = await workspace();
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    await configure(w, (doc) => {
      doc.backup.lockWait = '5m';
    });
    const out = path.join(w.dir, 'archives');
    const holder = await holdLock(w);
    const archive = start(process.execPath, [CLI, 'archive', 'd1', '--to', out, '--config', w.config]);
    await until('plugback archive to wait for the lock', () => archive.out().includes('waiting for the lock'));
    expect(await datedArchives(out).catch(() => [])).toEqual([]);
    holder.child.stdin.end();
    expect(await archive.exited, archive.out()).toBe(0);
    expect(await datedArchives(out)).toEqual([`h1-${(await w.completeSnapshots())[0]}.tar.zst`]);
  });

  it('keeps a backup out while it runs: the backup waits, naming "an archive of d1", and gives up', async () => {
    const w = await workspace();
    // Random bytes do not compress; with the bandwidth limit below the archive takes half a minute.
    await fs.writeFile(path.join(w.src, 'big.bin'), randomBytes(8 * 1024 * 1024));
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    await configure(w, (doc) => {
      doc.backup.bandwidthLimit = '256KiB';
    });
    const archive = start(process.execPath, [CLI, 'archive', 'd1', '--to', path.join(w.dir, 'archives'), '--config', w.config]);
    const pid = archive.child.pid as number;
    await until('the archive to record itself in the lock file', async () => (await fs.readFile(lockFile(w), 'utf8').catch(() => '')).includes(`{"pid":${pid},"what":"archive","drive":"d1"`));

    const r = await w.cli(['run', 'd1']);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`plugback: waiting for the lock ${lockFile(w)}, held by PID ${pid} \\(\\S*node \\S*main\\.js archive d1 [^)]*\\), an archive of d1 `));
    expect(r.messages.find((m) => m.startsWith('failed at lock: '))).toMatch(new RegExp(`held by PID ${pid} \\([^)]*\\), an archive of d1; gave up after waiting 2s`));
    expect(await w.completeSnapshots()).toHaveLength(1);
    archive.child.kill('SIGTERM');
    expect(await archive.exited).toBe(1);
  });
});
