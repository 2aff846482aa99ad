// `plugback set-aside list|remove`: the copies real restores in place set aside, found beside and inside the
// config's folders and removed by age; lookalikes, links and other folders are left alone.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';
import { parseSetAsideName } from '../../src/restore/set-aside.js';

const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

/** A workspace with one backup and two real restores in place: the folder and one file inside it set aside. */
async function restored(): Promise<Workspace> {
  const w = await Workspace.create();
  workspaces.push(w);
  const backup = await w.cli(['run', 'd1']);
  expect(backup.code, shown(backup)).toBe(0);
  const whole = await w.cli(['restore', 'd1', '--yes']);
  expect(whole.code, shown(whole)).toBe(0);
  const one = await w.cli(['restore', 'd1', '--yes', '--path', path.join(w.src, 'sub', 'deep.txt')]);
  expect(one.code, shown(one)).toBe(0);
  return w;
}

const setAsideIn = async (dir: string) => (await fs.readdir(dir)).filter((n) => parseSetAsideName(n) !== undefined);

describe('plugback set-aside', () => {
  it('lists the copies restores set aside beside and inside the folders, and ignores lookalikes and other folders', async () => {
    const w = await restored();
    const [folderCopy] = await setAsideIn(path.dirname(w.src));
    const [fileCopy] = await setAsideIn(path.join(w.src, 'sub'));
    expect(folderCopy).toMatch(/^photos\.plugback-before-restore-\d{4}-\d\d-\d\dT\d{6}Z$/);
    expect(fileCopy).toMatch(/^deep\.txt\.plugback-before-restore-/);
    // Not the pattern, or not in the config's folders: never listed, never removed.
    await fs.writeFile(path.join(w.src, 'notes.plugback-before-restore-yesterday'), 'mine\n');
    await fs.writeFile(path.join(w.victim, 'x.plugback-before-restore-2020-01-01T000000Z'), 'not in a folder\n');

    const r = await w.cli(['set-aside', 'list']);
    expect(r.code, shown(r)).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${path.join(path.dirname(w.src), folderCopy!)}  \\(folder, set aside \\S+ ago\\)$`));
    expect(lines[1]).toMatch(new RegExp(`^${path.join(w.src, 'sub', fileCopy!)}  \\(file, set aside \\S+ ago\\)$`));
    expect(lines[2]).toBe('2 set-aside copies; remove with: plugback set-aside remove --older-than DURATION (or --all)');
  });

  it('removes only copies older than --older-than, never what a planted link points at, and --dry-run removes nothing', async () => {
    const w = await restored();
    // An old copy made by hand the way keep-aside names it: a link to the victim folder.
    const oldLink = path.join(w.src, 'sub', 'gone.plugback-before-restore-2020-01-01T000000Z');
    await fs.symlink(w.victim, oldLink);
    const before = await w.tree();

    const dry = await w.cli(['set-aside', 'remove', '--older-than', '30d', '--dry-run']);
    expect(dry.code, shown(dry)).toBe(0);
    expect(dry.stdout).toBe(`would remove ${oldLink}\nwould remove 1 set-aside copy\n`);
    expect((await fs.lstat(oldLink)).isSymbolicLink()).toBe(true);

    const old = await w.cli(['set-aside', 'remove', '--older-than', '30d']);
    expect(old.code, shown(old)).toBe(0);
    expect(old.stdout).toBe(`removed ${oldLink}\nremoved 1 set-aside copy\n`);
    await expect(fs.lstat(oldLink)).rejects.toThrow(/ENOENT/);
    expect(await w.tree(), 'the folder the link pointed at').toEqual(before);
    // The two recent ones are still there.
    expect(await setAsideIn(path.dirname(w.src))).toHaveLength(1);
    expect(await setAsideIn(path.join(w.src, 'sub'))).toHaveLength(1);

    const all = await w.cli(['set-aside', 'remove', '--all']);
    expect(all.code, shown(all)).toBe(0);
    expect(all.stdout).toMatch(/removed 2 set-aside copies\n$/);
    expect(await setAsideIn(path.dirname(w.src))).toEqual([]);
    expect(await setAsideIn(path.join(w.src, 'sub'))).toEqual([]);
    expect((await w.cli(['set-aside', 'list'])).stdout).toBe("no set-aside copies in the config's folders\n");
    // The restored folder itself is intact.
    expect(await fs.readFile(path.join(w.src, 'sub', 'deep.txt'), 'utf8')).toBe('deep\n');
  });

  it('asks which to remove when given neither --older-than nor --all (exit 2, nothing removed)', async () => {
    const w = await restored();
    const r = await w.cli(['set-aside', 'remove']);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain('say which: --older-than DURATION (such as 30d) or --all');
    expect(await setAsideIn(path.dirname(w.src))).toHaveLength(1);
  });
});
