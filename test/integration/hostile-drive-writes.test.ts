// The drive-safety audit's write attacks (D1-D5, W13-W23), planted on a real directory drive, a tmpfs and a
// loop-mounted ext4 image, then the real CLI run as root: nothing outside the drive changes, ever.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asNobody, comingRunLogNames, shown, Workspace, type DriveKind } from '../helpers/cli-workspace.js';

const NEVER_FOLLOWS = 'plugback never follows links on a drive';
const NOBODY = 'setpriv --reuid=65534 --regid=65534 --clear-groups';
let ws: Workspace | undefined;

afterEach(async () => {
  await ws?.cleanup();
  ws = undefined;
});

async function workspace(kind: DriveKind = 'directory', extra = ''): Promise<Workspace> {
  ws = await Workspace.create(kind, extra);
  return ws;
}

/** The source's files, to compare a snapshot with. */
async function sourceTree(w: Workspace): Promise<Record<string, string>> {
  return w.tree(w.src);
}

describe.each(['directory', 'tmpfs', 'ext4'] as const)('a hostile %s drive', (kind) => {
  it('D1: a .incomplete planted as a link to a host folder is never resumed, emptied or written through', async () => {
    const w = await workspace(kind);
    await fs.mkdir(path.join(w.victim, 'keep'));
    await fs.mkdir(w.snapshots, { recursive: true });
    await fs.symlink(w.victim, path.join(w.snapshots, '2026-01-01T000000Z.incomplete'));
    const before = await w.tree();
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(3); // completed, with a warning about the link
    expect(run.stdout).toContain('is named like a snapshot but is not a directory');
    expect(await w.tree()).toEqual(before);
    const [snapshot] = await w.completeSnapshots();
    expect(await w.tree(path.join(w.snapshots, snapshot as string, 'photos', w.src))).toEqual(await sourceTree(w));
    expect((await fs.lstat(path.join(w.snapshots, '2026-01-01T000000Z.incomplete'))).isSymbolicLink()).toBe(true);
  });

  it.each(['plugback/h1', 'plugback/h1/snapshots', 'plugback/h1/logs'])(
    'D2: %s planted as a link to a host folder: the run is refused naming it, and the host folder gets nothing',
    async (planted) => {
      const w = await workspace(kind);
      await fs.mkdir(path.dirname(path.join(w.drive, planted)), { recursive: true });
      await fs.symlink(w.victim, path.join(w.drive, planted));
      const before = await w.tree();
      const run = await w.cli(['run', 'd1']);
      expect(run.code, shown(run)).toBe(1);
      expect(run.stdout).toContain(`${path.join(w.drive, planted)} is a symbolic link`);
      expect(run.stdout).toContain(NEVER_FOLLOWS);
      expect(await w.tree()).toEqual(before);
    },
  );
});

describe('links inside the repository', () => {
  it('D2: a state folder inside an interrupted snapshot planted as a link: not resumed, the host folder untouched', async () => {
    const w = await workspace();
    const inc = path.join(w.snapshots, '2026-01-01T000000Z.incomplete');
    await fs.mkdir(inc, { recursive: true });
    await fs.symlink(w.victim, path.join(inc, 'photos'));
    const before = await w.tree();
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(3);
    expect(run.stdout).toContain('not continuing the interrupted snapshot 2026-01-01T000000Z.incomplete');
    expect(await w.tree()).toEqual(before);
    const [snapshot] = await w.completeSnapshots();
    expect((await fs.lstat(path.join(w.snapshots, snapshot as string, 'photos'))).isDirectory()).toBe(true);
    // The next complete run removes the leftover: the link itself, never what it points at.
    expect(await fs.readdir(w.snapshots)).not.toContain('2026-01-01T000000Z.incomplete');
    expect(await w.tree()).toEqual(before);
  });

  it('D4: run logs planted as links for the coming seconds: the victim file gets no log line', async () => {
    const w = await workspace();
    const logs = path.join(w.drive, 'plugback', 'h1', 'logs');
    await fs.mkdir(logs, { recursive: true });
    const target = path.join(w.victim, 'important.conf');
    for (const name of comingRunLogNames()) await fs.symlink(target, path.join(logs, name));
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(3);
    expect(run.stdout).toMatch(/already exists \(it was not made by this run\); the log goes to a new file/);
    expect(await fs.readFile(target, 'utf8')).toBe('important\n');
  });

  it('a plain log file of the same second (a failed run before it) is left as it is and is no warning: exit 0', async () => {
    const w = await workspace();
    const logs = path.join(w.drive, 'plugback', 'h1', 'logs');
    await fs.mkdir(logs, { recursive: true });
    // What a run that failed at check-source leaves; the retry in the same second gets the same snapshot name.
    for (const name of comingRunLogNames()) await fs.writeFile(path.join(logs, name), 'earlier run\n');
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(0);
    const [snapshot] = await w.completeSnapshots();
    expect(await fs.readFile(path.join(logs, `${snapshot}.log`), 'utf8')).toBe('earlier run\n');
    const own = (await fs.readdir(logs)).filter((f) => f.startsWith(`${snapshot}-`));
    expect(own).toHaveLength(1);
    expect(await fs.readFile(path.join(logs, own[0] as string), 'utf8')).toMatch(/is complete/);
  });

  it('D3: a .plugback-probe-<pid> link planted for the very PID of the run truncates nothing', async () => {
    const w = await workspace();
    await w.cli(['run', 'd1']);
    const target = path.join(w.victim, 'important.conf');
    // exec keeps the shell's PID for plugback, so the link names exactly the probe name the old code used.
    const plant = `ln -s ${target} ${w.snapshots}/.plugback-probe-$$ && exec "$0" "$@"`;
    const run = await w.cli(['run', 'd1'], { wrapper: ['/bin/sh', '-c', plant] });
    expect(run.code, shown(run)).toBe(0);
    expect(await fs.readFile(target, 'utf8')).toBe('important\n');
  });

  it('D5: drive adopt --force does not write the identity through a planted .drive.json.<pid>.tmp link', async () => {
    const w = await workspace();
    const target = path.join(w.victim, 'important.conf');
    const plant = `ln -s ${target} ${w.drive}/plugback/.drive.json.$$.tmp && exec "$0" "$@"`;
    const adopt = await w.cli(['drive', 'adopt', 'd1', '--force'], { wrapper: ['/bin/sh', '-c', plant] });
    expect(adopt.code, shown(adopt)).toBe(0);
    expect(await fs.readFile(target, 'utf8')).toBe('important\n');
    expect((await fs.lstat(path.join(w.drive, 'plugback', 'drive.json'))).isFile()).toBe(true);
  });

  it('D5: a metrics folder owned by another user, with a temp-file link planted for the PID of the run, leaves a root-only file intact', async () => {
    const w = await workspace();
    const metrics = path.join(w.dir, 'metrics');
    await fs.mkdir(metrics, { mode: 0o755 });
    await fs.chown(metrics, 65534, 65534);
    const secret = path.join(w.victim, 'root-only.conf');
    await fs.writeFile(secret, 'secret\n', { mode: 0o600 });
    await w.writeConfig();
    await fs.appendFile(w.config, `metrics: {textfile: ${path.join(metrics, 'plugback.prom')}}\n`);
    // The user plants the link for the exact PID the run gets (exec keeps the shell's PID).
    await fs.chmod(w.dir, 0o755);
    const plant = `${NOBODY} ln -s ${secret} ${metrics}/.plugback.prom.$$.tmp && exec "$0" "$@"`;
    const run = await w.cli(['run', 'd1'], { wrapper: ['/bin/sh', '-c', plant] });
    expect(run.code, shown(run)).toBe(0);
    expect(await fs.readFile(secret, 'utf8')).toBe('secret\n');
    expect(await fs.readFile(path.join(metrics, 'plugback.prom'), 'utf8')).toContain('plugback_');
  });
});

describe("plugback's secrets (D21)", () => {
  it('rsync does not inherit the SMTP password variable or CREDENTIALS_DIRECTORY', async () => {
    const w = await workspace();
    const bin = path.join(w.dir, 'bin');
    const dump = path.join(w.dir, 'rsync-env');
    await fs.mkdir(bin);
    // A stand-in that records its environment, then runs the real rsync.
    await fs.writeFile(path.join(bin, 'rsync'), `#!/bin/sh\nenv > ${dump}\nexec /usr/bin/rsync "$@"\n`, { mode: 0o755 });
    await fs.appendFile(w.config, 'mail:\n  to: root@localhost\n  smtp: {host: localhost, user: me, passwordEnv: PLUGBACK_SMTP_PASSWORD}\n');
    const run = await w.cli(['run', 'd1'], {
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, PLUGBACK_SMTP_PASSWORD: 'hunter2-secret', CREDENTIALS_DIRECTORY: '/run/credentials/x' },
    });
    expect(run.code, shown(run)).toBe(0);
    const seen = await fs.readFile(dump, 'utf8');
    expect(seen).toContain(`PATH=${bin}`);
    expect(seen).not.toContain('hunter2-secret');
    expect(seen).not.toContain('CREDENTIALS_DIRECTORY');
  });
});

describe('what other local users can read (D23)', () => {
  it('keeps the ledger (which quotes failure reasons) and the adopted drive ids to root', async () => {
    const w = await workspace();
    await fs.appendFile(w.config, 'hooks: {preBackup: "echo Bearer tok_SECRET123; exit 1"}\n');
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(1);
    const ledger = path.join(w.state, 'ledger.json');
    expect(await fs.readFile(ledger, 'utf8')).toContain('tok_SECRET123');
    expect((await fs.stat(ledger)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.join(w.state, 'known-drives.json'))).mode & 0o077).toBe(0);
  });
});

describe('what is not the file plugback expects (D27)', () => {
  it('drive.json that is a directory is refused naming it and what to do, not with raw EISDIR', async () => {
    const w = await workspace();
    const identity = path.join(w.drive, 'plugback', 'drive.json');
    await fs.rm(identity);
    await fs.mkdir(identity);
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(1);
    expect(run.stdout).toContain(`${identity} is not a regular file (a directory, FIFO or device); move it away`);
    expect(run.stdout).not.toContain('EISDIR');
  });
});

describe('a directory target owned by an unprivileged user', () => {
  async function userOwned(): Promise<{ w: Workspace; ro: string }> {
    const w = await workspace();
    const ro = path.join(w.dir, 'root-only');
    await fs.mkdir(path.join(ro, 'conf.d'), { recursive: true, mode: 0o700 });
    await fs.writeFile(path.join(ro, 'important.db'), 'db\n', { mode: 0o600 });
    await fs.chmod(w.dir, 0o755);
    await fs.chown(w.drive, 65534, 65534);
    for (const d of ['plugback', 'plugback/h1']) await fs.mkdir(path.join(w.drive, d), { recursive: true });
    for (const d of ['', 'plugback', 'plugback/h1']) await fs.chown(path.join(w.drive, d), 65534, 65534);
    return { w, ro };
  }

  it('W22 (D1): a link planted by that user as an .incomplete does not make root delete a root-only folder', async () => {
    const { w, ro } = await userOwned();
    await asNobody(['mkdir', '-p', w.snapshots]);
    await asNobody(['ln', '-s', ro, path.join(w.snapshots, '2026-01-01T000000Z.incomplete')]);
    const before = await w.tree(ro);
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(3);
    expect(await w.tree(ro)).toEqual(before);
  });

  it('W23 (D3): a probe link planted by that user for the PID of the run truncates no root-only file', async () => {
    const { w, ro } = await userOwned();
    await asNobody(['mkdir', '-p', w.snapshots]);
    const plant = `${NOBODY} ln -s ${ro}/important.db ${w.snapshots}/.plugback-probe-$$ && exec "$0" "$@"`;
    const run = await w.cli(['run', 'd1'], { wrapper: ['/bin/sh', '-c', plant] });
    expect(run.code, shown(run)).toBe(0);
    expect(await fs.readFile(path.join(ro, 'important.db'), 'utf8')).toBe('db\n');
  });
});
