// `plugback forget DRIVE SNAPSHOT` and `plugback prune DRIVE --dry-run` on snapshots made by real backups (the
// real CLI as root, real rsync, a real flock(1) holding the lock): forget deletes exactly the one named and refuses
// the newest, an unknown name and a held lock; the dry run lists what the next backup's prune really removes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';
import { expectDocument } from '../helpers/json-shapes.js';

const workspaces: Workspace[] = [];
const holders: ChildProcess[] = [];
afterEach(async () => {
  for (const h of holders.splice(0)) h.kill();
  for (const w of workspaces.splice(0)) await w.cleanup();
});

const GENEROUS = 'retention: {keepLast: 20}';
const STRICT = 'retention: {keepLast: 2, keepDaily: 2, keepWeekly: 0, keepMonthly: 0, keepYearly: 0}';

/** A workspace with `n` snapshots from real backups, one second apart, oldest first. */
async function withSnapshots(n: number): Promise<{ w: Workspace; names: string[] }> {
  const w = await Workspace.create('directory', GENEROUS);
  workspaces.push(w);
  for (let i = 0; i < n; i++) {
    if (i > 0) await sleep(1100); // snapshot names are per second
    await fs.writeFile(path.join(w.src, 'changing.txt'), `run ${i}\n`);
    const r = await w.cli(['run', 'd1', '--quiet']);
    expect(r.code, shown(r)).toBe(0);
  }
  const names = await w.completeSnapshots();
  expect(names).toHaveLength(n);
  return { w, names };
}

const nameOf = (t: Date) => t.toISOString().replace(/:/g, '').replace(/\.\d{3}Z$/, 'Z');
const daysAgo = (days: number, hour: number) => {
  const t = new Date(Date.now() - days * 86_400_000);
  t.setUTCHours(hour, 0, 0, 0);
  return t;
};

/** Moves a real snapshot back in time: its folder renamed and its record naming the new name, as if made then. */
async function age(w: Workspace, name: string, when: Date): Promise<string> {
  const older = nameOf(when);
  await fs.rename(path.join(w.snapshots, name), path.join(w.snapshots, older));
  const file = path.join(w.snapshots, older, 'snapshot.json');
  const record = JSON.parse(await fs.readFile(file, 'utf8')) as { name: string };
  await fs.writeFile(file, JSON.stringify({ ...record, name: older }));
  return older;
}

interface PruneDoc {
  remove: { snapshot: string }[];
  keep: { snapshot: string; rules: string[] }[];
  nextBackup: { rules: string[] };
  neverRemoved: { snapshot: string; reason: string }[];
  continued: string | null;
  leftovers: string[];
  prunes: boolean;
}

describe('plugback prune --dry-run', () => {
  it('lists exactly what the next backup removes, and the rule that keeps each of the rest', async () => {
    const { w, names } = await withSnapshots(5);
    const [s0, s1, s2, s3, s4] = names as [string, string, string, string, string];
    const noRecord = await age(w, s0, daysAgo(20, 8));
    await fs.rm(path.join(w.snapshots, noRecord, 'snapshot.json'));
    const tenDays = await age(w, s1, daysAgo(10, 8));
    const fiveEarly = await age(w, s2, daysAgo(5, 9));
    const fiveLate = await age(w, s3, daysAgo(5, 11));
    // An older and a newer interrupted copy, and a delete a pull interrupted.
    const oldCopy = `${nameOf(daysAgo(3, 8))}.incomplete`;
    const newCopy = `${nameOf(daysAgo(1, 8))}.incomplete`;
    const halfDeleted = `${nameOf(daysAgo(2, 8))}.deleting`;
    for (const dir of [oldCopy, newCopy, halfDeleted]) await fs.mkdir(path.join(w.snapshots, dir));
    await w.writeConfig(STRICT);

    const today = new Date().toISOString().slice(0, 10);
    const dry = await w.cli(['prune', 'd1', '--dry-run', '--json']);
    expect(dry.code, shown(dry)).toBe(0);
    const plan = expectDocument<PruneDoc>('prune', dry.stdout);
    expect(plan.remove.map((s) => s.snapshot)).toEqual([tenDays, fiveEarly]);
    expect(plan.keep).toEqual([
      { snapshot: fiveLate, time: expect.any(String), rules: [`daily ${fiveLate.slice(0, 4)}-${fiveLate.slice(5, 7)}-${fiveLate.slice(8, 10)}`] },
      { snapshot: s4, time: expect.any(String), rules: ['last 2'] },
    ]);
    expect(plan.nextBackup.rules).toEqual(['last 1', `daily ${today}`]);
    expect(plan.neverRemoved).toEqual([{ snapshot: noRecord, time: expect.any(String), reason: 'it has no snapshot.json' }]);
    expect(plan.continued).toBe(newCopy);
    expect(plan.leftovers.sort()).toEqual([oldCopy, halfDeleted].sort());
    expect(plan.prunes).toBe(true);

    const text = await w.cli(['prune', 'd1', '--dry-run']);
    expect(text.code, shown(text)).toBe(0);
    expect(text.stdout).toContain('removes 2 snapshots and keeps 3 (its own included)');
    expect(text.stdout).toMatch(new RegExp(`${tenDays} .* removed +kept by no rule`));
    expect(text.stdout).toMatch(new RegExp(`${s4} .* kept +last 2`));
    expect(text.stdout).toMatch(new RegExp(`${noRecord} .* never removed +it has no snapshot.json`));
    expect(text.stdout).toMatch(/\(its new snapshot\) +kept +last 1, daily /);
    expect(text.stdout).toContain('To free room now: plugback forget d1 SNAPSHOT');
    // A dry run changes nothing.
    expect(await w.completeSnapshots()).toEqual([noRecord, tenDays, fiveEarly, fiveLate, s4].sort());

    const run = await w.cli(['run', 'd1', '--quiet']);
    expect(run.code, shown(run)).toBe(0);
    const after = await w.completeSnapshots();
    const made = after.filter((n) => ![noRecord, fiveLate, s4].includes(n));
    expect(made, `the backup removed or kept something else: ${after.join(', ')}`).toHaveLength(1);
    expect(after).toEqual([noRecord, fiveLate, s4, made[0]].sort());
    // It resumed the newer copy and removed the other leftovers, as the dry run said.
    expect((await fs.readdir(w.snapshots)).filter((n) => n.includes('.'))).toEqual([]);
  });

  it('without --dry-run is a usage error that says to add it and how to free room now, and changes nothing', async () => {
    const { w, names } = await withSnapshots(2);
    await w.writeConfig(STRICT);
    const r = await w.cli(['prune', 'd1']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('add --dry-run');
    expect(r.stderr).toContain('plugback forget d1 SNAPSHOT');
    expect(await w.completeSnapshots()).toEqual(names);
  });
});

describe('plugback forget', () => {
  it('deletes exactly the snapshot named, and says what is left', async () => {
    const { w, names } = await withSnapshots(3);
    const [first, middle, newest] = names as [string, string, string];
    const r = await w.cli(['forget', 'd1', middle]);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^deleted snapshot ${middle} of host h1 from drive "d1"; 2 left, the newest ${newest}; [0-9.]+ [KMGT]iB free on the drive\n$`));
    // plugback drives shows the count left (the ledger's record of the drive), not the one of the last backup.
    const drives = JSON.parse((await w.cli(['drives', '--json'])).stdout) as { drives: { record: { snapshotCount: number } }[] };
    expect(drives.drives[0]?.record.snapshotCount).toBe(2);
    expect(await w.completeSnapshots()).toEqual([first, newest]);
    expect((await fs.readdir(w.snapshots)).filter((n) => n.includes('.'))).toEqual([]);
    // The next backup still links against the newest: a file that did not change is not copied again.
    const run = await w.cli(['run', 'd1', '--quiet']);
    expect(run.code, shown(run)).toBe(0);
    const after = await w.completeSnapshots();
    const made = after.at(-1) as string;
    const [a, b] = await Promise.all([newest, made].map((s) => fs.stat(path.join(w.snapshots, s, 'photos', w.src, 'p1.jpg'))));
    expect(b?.ino).toBe(a?.ino);

    const json = await w.cli(['forget', 'd1', first, '--json']);
    expect(json.code, shown(json)).toBe(0);
    const doc = expectDocument('forget', json.stdout);
    expect(doc).toEqual({ format: 1, drive: 'd1', host: 'h1', snapshot: first, left: [newest, made], newest: made, freeBytes: expect.any(Number) });
    expect(await w.completeSnapshots()).toEqual([newest, made]);
  });

  it('refuses the newest complete snapshot, saying why, and deletes nothing', async () => {
    const { w, names } = await withSnapshots(2);
    const r = await w.cli(['forget', 'd1', names[1] as string, '--json']);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${names[1]} is the newest snapshot of host h1: the next backup builds on it and it is the last good copy`);
    expect(await w.completeSnapshots()).toEqual(names);
  });

  it('refuses a name that is not a complete snapshot of this host, listing those there are', async () => {
    const { w, names } = await withSnapshots(2);
    await fs.mkdir(path.join(w.snapshots, '2026-01-01T000000Z.incomplete'));
    for (const name of ['2026-01-01T000000Z', '2026-01-01T000000Z.incomplete', '../snapshots', 'latest']) {
      const r = await w.cli(['forget', 'd1', name]);
      expect(r.code, shown(r)).toBe(1);
      expect(r.stderr).toContain(`there is no complete snapshot ${name} of host h1 (snapshots: ${names.join(', ')}); see plugback snapshots d1`);
    }
    expect(await w.completeSnapshots()).toEqual(names);
    expect(await fs.readdir(w.snapshots)).toContain('2026-01-01T000000Z.incomplete');
  });

  it('exits 75 and deletes nothing while another process holds the lock (flock(1))', async () => {
    const { w, names } = await withSnapshots(2);
    const lockFile = path.join(w.dir, 'lock', 'plugback.lock');
    // --no-fork: the holder is one process (flock(1) becomes the sleep), so killing it frees the lock.
    const holder = spawn('flock', ['--no-fork', lockFile, 'sleep', '60'], { stdio: 'ignore' });
    holders.push(holder);
    // flock(1) has the lock once `flock --nonblock` from outside fails.
    for (;;) {
      const code = await new Promise<number | null>((resolve) => spawn('flock', ['--nonblock', lockFile, 'true']).on('close', resolve));
      if (code !== 0) break;
      await sleep(50);
    }
    const r = await w.cli(['forget', 'd1', names[0] as string, '--json']);
    expect(r.code, shown(r)).toBe(75);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`not now: the repository lock ${lockFile} is held by PID ${holder.pid}`);
    expect(r.stderr).toContain('nothing was deleted');
    expect(await w.completeSnapshots()).toEqual(names);

    holder.kill();
    await new Promise((resolve) => holder.on('close', resolve));
    const again = await w.cli(['forget', 'd1', names[0] as string]);
    expect(again.code, shown(again)).toBe(0);
    expect(await w.completeSnapshots()).toEqual([names[1]]);
  });

  it("refuses a host folder that belongs to another installation, like a backup would", async () => {
    const { w, names } = await withSnapshots(2);
    const owner = path.join(w.snapshots, '..', 'installation.json');
    const record = JSON.parse(await fs.readFile(owner, 'utf8')) as Record<string, unknown>;
    await fs.writeFile(owner, JSON.stringify({ ...record, installation: '00000000-0000-4000-8000-000000000000' }));
    const r = await w.cli(['forget', 'd1', names[0] as string]);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain('belongs to another plugback installation');
    expect(await w.completeSnapshots()).toEqual(names);
  });
});

describe('a full drive', () => {
  it('fails the backup with advice that names prune --dry-run and forget for that drive', async () => {
    const w = await Workspace.create('tmpfs');
    workspaces.push(w);
    // 24 MiB of incompressible data onto a 16 MiB drive.
    await fs.writeFile(path.join(w.src, 'big.bin'), Buffer.alloc(24 * 1024 * 1024, 7).map((_, i) => (i * 2654435761) >>> 24));
    const r = await w.cli(['run', 'd1', '--json']);
    expect(r.code, shown(r)).toBe(1);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { result: { failedStep: string; ending: { advice: string } } };
    expect(result.result.failedStep).toBe('sync');
    expect(r.stdout).toMatch(/No space left on device/);
    expect(result.result.ending.advice).toContain('plugback prune d1 --dry-run shows which snapshots retention removes at the next backup');
    expect(result.result.ending.advice).toContain('plugback forget d1 SNAPSHOT deletes one now (never the newest)');
  });
});
