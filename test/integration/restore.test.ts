// `plugback restore` end to end: a whole folder put back in place or into --to, the dry run, and the confirmation.
// Needs root (ownership, trusted xattrs), rsync, flock(1) and the attr/acl tools, like the backup-engine tests.
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFidelityTree } from '../helpers/tree-build.js';
import { diffTrees, snapshotTree } from '../helpers/tree.js';
import { cleanUpAfterEach, execFileP, restore, shown, setup, backup, writeFiles, keptAsideOf, anyKeptAside, escapeRegExp, without, changeFidelityTree, listed } from '../helpers/restore-cli.js';

cleanUpAfterEach();

describe('plugback restore of a whole folder', () => {
  it('puts the backed-up tree back exactly and keeps the changed folder aside as it was', async () => {
    const f = await setup();
    await buildFidelityTree(f.source);
    await backup(f);
    const backedUp = await snapshotTree(f.source);

    await changeFidelityTree(f.source);
    const changed = await snapshotTree(f.source);
    expect(diffTrees(backedUp, changed), 'the changes made after the backup').not.toEqual([]);

    const r = await restore(f, '--yes');
    expect(r.code, shown(r)).toBe(0);

    // Content, modes, numeric owners, hard links, symlinks, xattrs, ACLs, sparseness and times, root included.
    expect(diffTrees(backedUp, await snapshotTree(f.source))).toEqual([]);

    const kept = await keptAsideOf(f.source);
    expect(kept).toHaveLength(1);
    const keptAs = kept[0] as string;
    expect(path.basename(keptAs)).toMatch(/^source\.plugback-before-restore-\d{4}-\d{2}-\d{2}T\d+Z$/);
    expect(diffTrees(changed, await snapshotTree(keptAs))).toEqual([]);
    expect(r.stdout).toContain(`kept ${f.source} as it was before: ${keptAs}`);
    expect(r.stdout).toMatch(/^restored 1 item from snapshot \d{4}-\d{2}-\d{2}T\d{6}Z$/m);
  });

  it('restores into an empty --to directory under the original absolute path and leaves the original folder alone', async () => {
    const f = await setup();
    await buildFidelityTree(f.source);
    const snap = await backup(f);
    const backedUp = await snapshotTree(f.source);
    await changeFidelityTree(f.source);
    const current = await snapshotTree(f.source);
    const fresh = path.join(f.root, 'fresh-clone');
    await fs.mkdir(fresh);

    const r = await restore(f, '--to', fresh, '--yes');
    expect(r.code, shown(r)).toBe(0);

    const restored = path.join(fresh, f.source);
    const restoredTree = await snapshotTree(restored);
    expect(diffTrees(await snapshotTree(f.inSnapshot(snap)), restoredTree)).toEqual([]);
    expect(diffTrees(backedUp, restoredTree)).toEqual([]);
    // The original folder is as it was, and nothing was set aside (the destination did not exist).
    expect(diffTrees(current, await snapshotTree(f.source))).toEqual([]);
    expect(await anyKeptAside(f.source)).toEqual([]);
  });

  it('with --no-keep overwrites in place, leaving no copy aside, and restores a file changed without changing its size or mtime', async () => {
    const f = await setup();
    await buildFidelityTree(f.source);
    await backup(f);
    const backedUp = await snapshotTree(f.source);

    // Same length as 'hello, plugback\n', and the old times put back: only the content tells them apart.
    const sneaky = path.join(f.source, 'modes', 'plain-0644.txt');
    const before = await fs.stat(sneaky);
    await fs.writeFile(sneaky, 'HELLO, PLUGBACK\n');
    await fs.utimes(sneaky, before.atime, before.mtime);
    const after = await fs.stat(sneaky);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    await fs.writeFile(path.join(f.source, 'added-after-backup.txt'), 'not in the snapshot\n');
    await execFileP('setfattr', ['-x', 'user.plugback.test', path.join(f.source, 'xattrs.txt')]);

    const r = await restore(f, '--no-keep', '--yes');
    expect(r.code, shown(r)).toBe(0);
    expect(await fs.readFile(sneaky, 'utf8')).toBe('hello, plugback\n');
    expect(diffTrees(backedUp, await snapshotTree(f.source))).toEqual([]);
    expect(await anyKeptAside(f.source)).toEqual([]);
    expect(r.stdout).not.toContain('as it was before');
  });
});

describe('plugback restore --dry-run', () => {
  it('lists the files it would create, change and delete with their counts, and changes nothing', async () => {
    const f = await setup();
    await writeFiles(f.source, {
      'same.txt': 'never changes\n',
      'edited.txt': 'as backed up\n',
      'deleted.txt': 'removed after the backup\n',
      'chmodded.txt': 'mode changes\n',
      'sub/deep.txt': 'deep\n',
    });
    await backup(f);
    await fs.writeFile(path.join(f.source, 'edited.txt'), 'edited after the backup\n');
    await fs.rm(path.join(f.source, 'deleted.txt'));
    await fs.writeFile(path.join(f.source, 'added.txt'), 'new since the backup\n');
    await fs.chmod(path.join(f.source, 'chmodded.txt'), 0o600);
    const before = await snapshotTree(f.source);

    const r = await restore(f, '--dry-run');
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain(`${f.source}: 1 to create, 2 to change, 1 to delete\n`);
    expect(listed(r.stdout, 'create')).toEqual(['deleted.txt']);
    expect(listed(r.stdout, 'change').sort()).toEqual(['chmodded.txt', 'edited.txt']);
    expect(listed(r.stdout, 'delete')).toEqual(['added.txt']);
    expect(r.stdout).toContain('dry run: nothing was changed');

    expect(diffTrees(before, await snapshotTree(f.source))).toEqual([]);
    expect(await anyKeptAside(f.source)).toEqual([]);
  });

  it('counts a file whose only difference is an extended attribute or an ACL entry as one to change', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'tagged.txt': 'has an xattr\n', 'shared.txt': 'has an ACL\n', 'plain.txt': 'plain\n' });
    const tagged = path.join(f.source, 'tagged.txt');
    const shared = path.join(f.source, 'shared.txt');
    await execFileP('setfattr', ['-n', 'user.plugback.tag', '-v', 'keep-me', tagged]);
    await execFileP('setfacl', ['-m', 'u:12345:rw', shared]);
    await backup(f);
    const modeBefore = (await fs.stat(shared)).mode;
    await execFileP('setfattr', ['-x', 'user.plugback.tag', tagged]);
    // -n keeps the mask, so the mode bits stay as they were: only the ACL entry differs.
    await execFileP('setfacl', ['-n', '-m', 'u:12345:r', shared]);
    expect((await fs.stat(shared)).mode).toBe(modeBefore);

    const r = await restore(f, '--dry-run');
    expect(r.code, shown(r)).toBe(0);
    // The real restore puts the xattr and the ACL back (it copies with -A -X): the preview must say so.
    expect(listed(r.stdout, 'change').sort(), shown(r)).toEqual(['shared.txt', 'tagged.txt']);
    expect(r.stdout).toContain(`${f.source}: 0 to create, 2 to change, 0 to delete\n`);
  });

  it('previews a restore into an empty --to directory as files to create, with nothing to change or delete', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'a\n', 'sub/b.txt': 'b\n' });
    await backup(f);
    const fresh = path.join(f.root, 'fresh-clone');
    await fs.mkdir(fresh);

    const r = await restore(f, '--to', fresh, '--dry-run');
    expect(r.code, shown(r)).toBe(0);
    const destination = path.join(fresh, f.source);
    expect(r.stdout).toMatch(new RegExp(`^${escapeRegExp(destination)}: \\d+ to create, 0 to change, 0 to delete$`, 'm'));
    expect(listed(r.stdout, 'create')).toEqual(expect.arrayContaining(['a.txt', 'sub/', 'sub/b.txt']));
    expect(listed(r.stdout, 'change'), shown(r)).toEqual([]);
    expect(await fs.readdir(fresh), 'the dry run created something under --to').toEqual([]);
  });
});

describe('plugback restore confirmation', () => {
  it('refuses with exit 2 and asks for --yes when stdin is not a terminal, changing nothing', async () => {
    const f = await setup();
    await writeFiles(f.source, { 'a.txt': 'as backed up\n' });
    await backup(f);
    await fs.writeFile(path.join(f.source, 'a.txt'), 'changed since\n');
    await fs.writeFile(path.join(f.source, 'b.txt'), 'new since\n');
    const before = await snapshotTree(f.source);

    const r = await restore(f);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(r.stderr).toContain('not a terminal');
    expect(diffTrees(before, await snapshotTree(f.source))).toEqual([]);
    expect(await anyKeptAside(f.source)).toEqual([]);
  });
});

