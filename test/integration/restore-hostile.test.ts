// `plugback restore` and `versions` against a hostile drive and a hostile --to (audit section 1d, RS1-RS18):
// everything on the drive (records, links, names, dates) is input from outside, and plugback runs as root. Each
// test is named after the audit's defect it guards against. Real CLI (dist/main.js), real rsync, real tmpfs
// mounts, and a real unprivileged user (uid 65534) preparing a --to folder.
import { execa } from 'execa';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackupFixture, DRIVE } from '../helpers/backup-fixture.js';

const execFileP = promisify(execFile);
const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const KEPT_MARK = '.plugback-before-restore-';

interface CliResult {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** `node dist/main.js ...args`, stdin closed at once (not a terminal); killed by the timeout if it hangs. */
async function cli(args: string[]): Promise<CliResult> {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, input: '', cwd: os.tmpdir(), timeout: 45_000 });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

const restore = (f: BackupFixture, ...args: string[]) => cli(['restore', DRIVE, '--config', f.configFile, ...args]);
const versions = (f: BackupFixture, target: string) => cli(['versions', DRIVE, target, '--config', f.configFile]);
const shown = (r: CliResult) => `exit ${r.code}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;

const fixtures: BackupFixture[] = [];
const scratch: string[] = [];

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test builds before testing)`);
});

afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup();
  for (const dir of scratch.splice(0)) await fs.rm(dir, { recursive: true, force: true });
});

/** A fixture whose source holds a few files, backed up once; returns it and the snapshot's folder. */
async function backedUp(folders?: string[], extra?: (f: BackupFixture) => Promise<void>): Promise<{ f: BackupFixture; snap: string }> {
  const f = await BackupFixture.create();
  fixtures.push(f);
  if (folders) await f.configure({ states: { data: { folders: folders.map((d) => path.join(f.root, d)) } } });
  await fs.mkdir(path.join(f.source, 'sub'), { recursive: true });
  await fs.writeFile(path.join(f.source, 'doc.txt'), 'v1\n');
  await fs.writeFile(path.join(f.source, 'sub', 'deep.txt'), 'deep\n');
  await extra?.(f);
  const snap = await backup(f);
  return { f, snap: path.join(f.repo.snapshots, snap) };
}

async function backup(f: BackupFixture, outcome: 'success' | 'warning' = 'success'): Promise<string> {
  const result = await f.run();
  expect(result, JSON.stringify(result)).toMatchObject({ outcome });
  return result.snapshot as string;
}

/** Every name in `dir` that marks a folder set aside by a restore. */
async function keptAside(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.includes(KEPT_MARK));
}

describe('D9: the folders a snapshot.json names do not decide where a restore writes', () => {
  it('restores in place only the configured folders, lists the extra one with advice, and writes it only under --to', async () => {
    const { f, snap } = await backedUp();
    const victim = path.join(f.root, 'victim2');
    await fs.mkdir(path.join(snap, 'data', victim), { recursive: true });
    await fs.writeFile(path.join(snap, 'data', victim, 'authorized_keys'), 'planted by drive\n');
    await fs.mkdir(victim);
    const recordFile = path.join(snap, 'snapshot.json');
    const record = JSON.parse(await fs.readFile(recordFile, 'utf8')) as { states: { data: { folders: string[] } } };
    record.states.data.folders.push(victim);
    await fs.writeFile(recordFile, JSON.stringify(record));

    const whole = await restore(f, '--yes');
    expect(whole.code, shown(whole)).toBe(0);
    expect(whole.stdout).toContain(`not restored: ${victim}`);
    expect(whole.stdout).toContain(`--path ${victim} --to DIR`);
    expect(await fs.readdir(victim)).toEqual([]);

    const inPlace = await restore(f, '--path', path.join(victim, 'authorized_keys'), '--yes');
    expect(inPlace.code, shown(inPlace)).toBe(1);
    expect(inPlace.stderr).toContain('--to DIR');
    expect(await fs.readdir(victim)).toEqual([]);

    const elsewhere = path.join(f.root, 'elsewhere');
    const under = await restore(f, '--path', path.join(victim, 'authorized_keys'), '--to', elsewhere, '--yes');
    expect(under.code, shown(under)).toBe(0);
    expect(await fs.readFile(path.join(elsewhere, victim, 'authorized_keys'), 'utf8')).toBe('planted by drive\n');
  });
});

describe('D10: --path and versions PATH must be written plainly', () => {
  it('refuses a --path with ".." that climbs to another folder, which is left untouched, and a versions PATH with ".."', async () => {
    const { f } = await backedUp();
    const victim = path.join(f.root, 'victim');
    await fs.mkdir(victim);
    await fs.writeFile(path.join(victim, 'keep.txt'), 'mine\n');
    const climbing = `${f.source}/${'../'.repeat(20)}${victim.slice(1)}`;

    const r = await restore(f, '--path', climbing, '--yes');
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('without ".."');
    expect(await fs.readdir(victim)).toEqual(['keep.txt']);
    expect(await keptAside(f.root)).toEqual([]);

    const v = await versions(f, `${f.source}/../../../etc/hostname`);
    expect(v.code, shown(v)).toBe(2);
    expect(v.stdout).toBe('');
  });
});

describe('D11: a link inside a snapshot is never followed out to this machine', () => {
  it('versions and restore --path refuse a path through a snapshot link, and restoring the link itself makes a link', async () => {
    const { f } = await backedUp(undefined, async (fx) => {
      const hostEtc = path.join(fx.root, 'hostetc');
      await fs.mkdir(hostEtc);
      await fs.writeFile(path.join(hostEtc, 'shadow'), 'root:live-host-secret\n');
      await fs.symlink(hostEtc, path.join(fx.source, 'x'));
    });
    const through = path.join(f.source, 'x', 'shadow');

    const v = await versions(f, through);
    expect(v.code, shown(v)).toBe(1);
    expect(v.stdout).not.toMatch(/^\d{4}-/m);

    const to = path.join(f.root, 'R');
    const r = await restore(f, '--path', through, '--to', to, '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${path.join(f.source, 'x')} is a symbolic link there`);
    expect(existsSync(path.join(to, through))).toBe(false);

    const link = await restore(f, '--path', path.join(f.source, 'x'), '--to', to, '--yes');
    expect(link.code, shown(link)).toBe(0);
    expect(await fs.readlink(path.join(to, f.source, 'x'))).toBe(path.join(f.root, 'hostetc'));
  });
});

describe('D12 and D3 (RS7, RS8): a --to prepared by another user', () => {
  it('is refused, so a link to a root-only folder and 3000 planted probe links gain that folder nothing', async () => {
    const { f } = await backedUp();
    // A place uid 65534 can reach (the fixture's folder is root-only), with a root-only folder beside it.
    const lab = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-hostile-'));
    scratch.push(lab);
    await fs.chmod(lab, 0o755);
    const rootOnly = path.join(lab, 'root-only');
    await fs.mkdir(rootOnly, { mode: 0o700 });
    await fs.writeFile(path.join(rootOnly, 'important.db'), 'precious\n');
    const home = path.join(lab, 'home');
    await fs.mkdir(home);
    await fs.chown(home, 65534, 65534);
    const to = path.join(home, 'op');
    const script = path.join(lab, 'prepare.sh');
    await fs.writeFile(
      script,
      `set -e\nmkdir ${to}\nln -s ${rootOnly} ${to}/tmp\n` +
        `perl -e 'for my $n ($$ .. $$ + 3000) { symlink("${rootOnly}/important.db", "${to}/.plugback-probe-$n") or die }'\n`,
    );
    await fs.chmod(script, 0o644);
    await execFileP('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', script]);

    const r = await restore(f, '--path', path.join(f.source, 'sub'), '--to', to, '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${home} belongs to user 65534`);
    expect(await fs.readdir(rootOnly)).toEqual(['important.db']);
    expect(await fs.readFile(path.join(rootOnly, 'important.db'), 'utf8')).toBe('precious\n');

    const dry = await restore(f, '--path', path.join(f.source, 'sub'), '--to', to, '--dry-run');
    expect(dry.code, shown(dry)).toBe(1);
    expect(dry.stderr).toContain('belongs to user 65534');
  });
});

describe('D13: keep-aside that cannot finish', () => {
  it('refuses a folder that is a mount point before anything is renamed, saying to use --no-keep or --to', async () => {
    const { f } = await backedUp(['source', 'mounted'], async (fx) => {
      await fx.mountTmpfs(path.join(fx.root, 'mounted'), '1m');
      await fs.writeFile(path.join(fx.root, 'mounted', 'b.txt'), 'data\n');
    });
    await fs.writeFile(path.join(f.source, 'doc.txt'), 'edited after the backup\n');

    const r = await restore(f, '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${path.join(f.root, 'mounted')} is a mount point`);
    expect(r.stderr).toContain('--no-keep');
    expect(await fs.readFile(path.join(f.source, 'doc.txt'), 'utf8')).toBe('edited after the backup\n');
    expect(await keptAside(f.root)).toEqual([]);
    expect(await fs.readFile(path.join(f.root, 'mounted', 'b.txt'), 'utf8')).toBe('data\n');
  });

  it('puts the first folder back when setting the second aside fails partway (a read-only file system)', async () => {
    const { f } = await backedUp(['source', 'ro/b'], async (fx) => {
      await fx.mountTmpfs(path.join(fx.root, 'ro'), '1m');
      await fs.mkdir(path.join(fx.root, 'ro', 'b'));
      await fs.writeFile(path.join(fx.root, 'ro', 'b', 'b.txt'), 'data\n');
    });
    await execFileP('mount', ['-o', 'remount,ro', path.join(f.root, 'ro')]);
    await fs.writeFile(path.join(f.source, 'doc.txt'), 'edited after the backup\n');

    const r = await restore(f, '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`could not set ${path.join(f.root, 'ro', 'b')} aside`);
    expect(r.stderr).toContain('every folder already set aside is back in its place');
    expect(await fs.readFile(path.join(f.source, 'doc.txt'), 'utf8')).toBe('edited after the backup\n');
    expect(await keptAside(f.root)).toEqual([]);
  });
});

describe('D26: a dry run into a --to that does not exist yet', () => {
  it('lists the file as one to create, with no stack trace, and creates nothing', async () => {
    const { f } = await backedUp();
    const to = path.join(f.root, 'absent', 'deeper');
    const r = await restore(f, '--path', path.join(f.source, 'doc.txt'), '--to', to, '--dry-run');
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain(`${path.join(to, f.source, 'doc.txt')}: 1 to create, 0 to change, 0 to delete`);
    expect(r.stderr).not.toContain('unexpected');
    expect(existsSync(path.join(f.root, 'absent'))).toBe(false);
  });
});

describe('D7: a snapshot dated in the future', () => {
  it('is never "latest": restore takes the one this machine made last and says which is dated in the future', async () => {
    const { f, snap } = await backedUp();
    const future = '2030-01-01T000000Z';
    const futureDir = path.join(path.dirname(snap), future);
    await fs.rename(snap, futureDir);
    const record = JSON.parse(await fs.readFile(path.join(futureDir, 'snapshot.json'), 'utf8')) as { name: string };
    record.name = future;
    await fs.writeFile(path.join(futureDir, 'snapshot.json'), JSON.stringify(record));
    await fs.writeFile(path.join(f.source, 'doc.txt'), 'v2\n');
    // The backup warns about the future-dated snapshot (and keeps it).
    await backup(f, 'warning');

    const to = path.join(f.root, 'R');
    const r = await restore(f, '--path', path.join(f.source, 'doc.txt'), '--to', to, '--yes');
    expect(r.code, shown(r)).toBe(0);
    expect(await fs.readFile(path.join(to, f.source, 'doc.txt'), 'utf8')).toBe('v2\n');
    expect(r.stdout).toContain(`${future} is dated in the future`);

    const v = await versions(f, path.join(f.source, 'doc.txt'));
    expect(v.stdout).toMatch(new RegExp(`^${future} .*dated in the future`, 'm'));
  });
});
