// `plugback restore` hooks, `plugback versions` and one file restored, and unknown snapshots or states.
// Needs root (ownership, trusted xattrs), rsync, flock(1) and the attr/acl tools, like the backup-engine tests.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DRIVE } from '../helpers/backup-fixture.js';
import { diffTrees, snapshotTree } from '../helpers/tree.js';
import { sq, readEnv } from '../helpers/processes.js';
import { cleanUpAfterEach, KEPT_MARK, restore, versions, shown, setup, backup, writeFiles, keptAsideOf, anyKeptAside, without, YEAR_2020, YEAR_2021 } from '../helpers/restore-cli.js';

cleanUpAfterEach();

describe('postRestore hooks', () => {
  it("run each state's hook in config order and then the global one, after the copy, with the restore in their environment", async () => {
    const f = await setup();
    const a = path.join(f.source, 'a');
    const b = path.join(f.source, 'b');
    await writeFiles(f.source, { 'a/x.txt': 'alpha as backed up\n', 'b/y.txt': 'beta as backed up\n' });
    const order = sq(path.join(f.root, 'order.log'));
    const hook = (name: string, shows: string) =>
      `echo "${name} sees: $(cat ${sq(shows)})" >> ${order}; env -0 > ${sq(path.join(f.root, `${name}.env`))}`;
    await f.configure({
      hooks: { postRestore: hook('global', path.join(b, 'y.txt')) },
      states: {
        alpha: { folders: [a], postRestore: hook('alpha', path.join(a, 'x.txt')) },
        beta: { folders: [b], postRestore: hook('beta', path.join(b, 'y.txt')) },
      },
    });
    const snap = await backup(f);
    await fs.writeFile(path.join(a, 'x.txt'), 'alpha changed\n');
    await fs.writeFile(path.join(b, 'y.txt'), 'beta changed\n');

    const r = await restore(f, '--yes');
    expect(r.code, shown(r)).toBe(0);
    // In that order, and each saw the restored files: the hooks ran after the copy.
    expect(await fs.readFile(path.join(f.root, 'order.log'), 'utf8')).toBe(
      'alpha sees: alpha as backed up\nbeta sees: beta as backed up\nglobal sees: beta as backed up\n',
    );
    const envs = {
      alpha: await readEnv(path.join(f.root, 'alpha.env')),
      beta: await readEnv(path.join(f.root, 'beta.env')),
      global: await readEnv(path.join(f.root, 'global.env')),
    };
    for (const env of Object.values(envs)) {
      expect(env.get('PLUGBACK_EVENT')).toBe('postRestore');
      expect(env.get('PLUGBACK_DRIVE')).toBe(DRIVE);
      expect(env.get('PLUGBACK_SNAPSHOT')).toBe(snap);
    }
    expect(envs.alpha.get('PLUGBACK_STATE')).toBe('alpha');
    expect(envs.alpha.get('PLUGBACK_RESTORED')).toBe(a);
    expect(envs.beta.get('PLUGBACK_STATE')).toBe('beta');
    expect(envs.beta.get('PLUGBACK_RESTORED')).toBe(b);
    expect(envs.global.get('PLUGBACK_STATE')).toBe('');
    expect(envs.global.get('PLUGBACK_RESTORED')).toBe(`${a}\n${b}`);
  });

  it('do not run for a restore under --to (the services they restart read the files in place), unless --hooks is given', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'as backed up\n' });
    const marker = path.join(f.root, 'hook-ran');
    await f.configure({ hooks: { postRestore: `echo ran >> ${sq(marker)}` } });
    await backup(f);

    const elsewhere = await restore(f, '--to', path.join(f.root, 'copy'), '--yes');
    expect(elsewhere.code, shown(elsewhere)).toBe(0);
    expect(await fs.readFile(path.join(f.root, 'copy', f.source, 'a.txt'), 'utf8')).toBe('as backed up\n');
    await expect(fs.stat(marker)).rejects.toThrow('ENOENT');
    expect(elsewhere.stdout).toContain('the postRestore hooks were not run: the files went under');

    const asked = await restore(f, '--to', path.join(f.root, 'copy2'), '--yes', '--hooks');
    expect(asked.code, shown(asked)).toBe(0);
    expect(await fs.readFile(marker, 'utf8')).toBe('ran\n');
  });

  it('make the restore exit 1 with the hook output in the message when one fails, the files being restored already', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'as backed up\n' });
    await f.configure({
      states: { data: { folders: [f.source], postRestore: 'echo restore-hook-broke >&2; exit 4' } },
    });
    await backup(f);
    const backedUp = await snapshotTree(f.source);
    await fs.writeFile(path.join(f.source, 'a.txt'), 'changed since\n');

    const r = await restore(f, '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain('restore failed at post-restore-hooks');
    expect(r.stderr).toContain('postRestore hook of state "data" exited with code 4');
    expect(`${r.stderr}\n${r.stdout}`).toContain('restore-hook-broke');
    // The hook runs after the copy, and its failure does not undo it: the folder is restored, the old one kept.
    expect(diffTrees(backedUp, await snapshotTree(f.source))).toEqual([]);
    const kept = await keptAsideOf(f.source);
    expect(kept).toHaveLength(1);
    expect(await fs.readFile(path.join(kept[0] as string, 'a.txt'), 'utf8')).toBe('changed since\n');
  });
});

describe('plugback versions and restoring one file', () => {
  it('lists a file in three snapshots, marks the unchanged one, and restores the first version next to the rest as it is now', async () => {
    const f = await setup();
    const notes = path.join(f.source, 'notes.txt');
    await writeFiles(f.source, { 'notes.txt': 'version one\n', 'other.txt': 'other as backed up\n' });
    await fs.utimes(notes, YEAR_2020, YEAR_2020);
    const s1 = await backup(f);
    await fs.writeFile(notes, 'version two, longer\n');
    await fs.utimes(notes, YEAR_2021, YEAR_2021);
    const s2 = await backup(f);
    const s3 = await backup(f);

    const table = await versions(f, notes);
    expect(table.code, shown(table)).toBe(0);
    const lines = table.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${s1}\\s+12 B\\s+modified 2020-01-01 00:00:00 UTC$`));
    expect(lines[1]).toMatch(new RegExp(`^${s2}\\s+20 B\\s+modified 2021-06-15 12:30:45 UTC$`));
    expect(lines[2]).toMatch(new RegExp(`^${s3}\\s+20 B\\s+modified 2021-06-15 12:30:45 UTC  \\(unchanged\\)$`));

    const json = await versions(f, notes, '--json');
    expect(json.code, shown(json)).toBe(0);
    const parsed = JSON.parse(json.stdout) as { drive: string; path: string; versions: { snapshot: string; bytes: number; type: string; sameAsPrevious: boolean }[] };
    expect(parsed).toMatchObject({ drive: DRIVE, path: notes });
    expect(parsed.versions.map(({ snapshot, bytes, type, sameAsPrevious }) => ({ snapshot, bytes, type, sameAsPrevious }))).toEqual([
      { snapshot: s1, bytes: 12, type: 'file', sameAsPrevious: false },
      { snapshot: s2, bytes: 20, type: 'file', sameAsPrevious: false },
      { snapshot: s3, bytes: 20, type: 'file', sameAsPrevious: true },
    ]);

    // Life goes on after the last backup.
    await fs.writeFile(path.join(f.source, 'other.txt'), 'other changed since\n');
    await fs.writeFile(path.join(f.source, 'later.txt'), 'created after the backups\n');
    const now = await snapshotTree(f.source);

    const r = await restore(f, '--snapshot', s1, '--path', notes, '--yes');
    expect(r.code, shown(r)).toBe(0);
    expect(await fs.readFile(notes, 'utf8')).toBe('version one\n');
    expect((await fs.stat(notes)).mtime.toISOString()).toBe(YEAR_2020.toISOString());
    const kept = await keptAsideOf(notes);
    expect(kept).toHaveLength(1);
    expect(await fs.readFile(kept[0] as string, 'utf8')).toBe('version two, longer\n');
    expect(r.stdout).toContain(`kept ${notes} as it was before: ${kept[0]}`);
    // Everything else is as it was just before; the folder's own mtime moves because a file was set aside in it.
    const isNotes = (p: string) => p === 'notes.txt' || p.startsWith(`notes.txt${KEPT_MARK}`);
    expect(diffTrees(without(now, isNotes), without(await snapshotTree(f.source), isNotes), { ignoreRootMtime: true })).toEqual([]);
    expect(await keptAsideOf(f.source)).toEqual([]);
  });

  it('keeps every earlier content aside when the same file is restored twice in a row', async () => {
    const f = await setup();
    const notes = path.join(f.source, 'notes.txt');
    // Different sizes and times, so rsync's quick check (size and whole-second mtime) sees every edit.
    await writeFiles(f.source, { 'notes.txt': 'version one\n' });
    await fs.utimes(notes, YEAR_2020, YEAR_2020);
    const s1 = await backup(f);
    await fs.writeFile(notes, 'version two, longer\n');
    await fs.utimes(notes, YEAR_2021, YEAR_2021);
    const s2 = await backup(f);
    await fs.writeFile(notes, 'the current version, in no snapshot\n');
    // Both restores within the same clock minute, so the outcome does not depend on when the test runs.
    const seconds = new Date().getUTCSeconds();
    if (seconds >= 52) await sleep((61 - seconds) * 1000);

    // A user restores the wrong snapshot first, then the right one.
    const wrong = await restore(f, '--snapshot', s1, '--path', notes, '--yes');
    expect(wrong.code, shown(wrong)).toBe(0);
    const right = await restore(f, '--snapshot', s2, '--path', notes, '--yes');
    expect(right.code, shown(right)).toBe(0);

    expect(await fs.readFile(notes, 'utf8')).toBe('version two, longer\n');
    const kept = await keptAsideOf(notes);
    const keptContents = await Promise.all(kept.map((k) => fs.readFile(k, 'utf8')));
    // The current version existed nowhere else: losing it would lose data.
    expect(keptContents.sort(), `kept aside: ${kept.join(', ')}`).toEqual(['the current version, in no snapshot\n', 'version one\n']);
  });
});

describe('plugback restore with a snapshot or state that does not exist', () => {
  it('fails with exit 1 and lists the snapshots for an unknown snapshot id', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'a\n' });
    const s1 = await backup(f);
    await fs.writeFile(path.join(f.source, 'b.txt'), 'b\n');
    const s2 = await backup(f);
    const before = await snapshotTree(f.source);

    const r = await restore(f, '--snapshot', '1999-01-01T000000Z', '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain('there is no snapshot "1999-01-01T000000Z"');
    expect(r.stderr).toContain(`${s1}, ${s2}`);
    expect(diffTrees(before, await snapshotTree(f.source))).toEqual([]);
  });

  it('fails with exit 1 and names the states the snapshot has for an unknown --state', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'web/index.html': '<p>hi</p>\n', 'db/data.sql': 'select 1;\n' });
    await f.configure({ states: { web: { folders: [path.join(f.source, 'web')] }, db: { folders: [path.join(f.source, 'db')] } } });
    const snap = await backup(f);

    const r = await restore(f, '--state', 'nosuch', '--yes');
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`snapshot ${snap} has no state "nosuch"`);
    expect(r.stderr).toMatch(/\(it has: (web, db|db, web)\)/);
    expect(await anyKeptAside(f.source)).toEqual([]);
  });
});
