// `plugback drive retire NAME` through the real CLI as root: the config loses the drive (its comments stay), this
// machine forgets the drive (adopted id and history kept in retired-drives.json), a LUKS drive's key file and
// header backup are renamed aside, nothing on the drive changes, and a new drive takes the name with a clean slate.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';

const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

describe('plugback drive retire', () => {
  it('removes the drive from the config and this machine, leaves its snapshots alone, and lets a new drive take the name', async () => {
    const w = await Workspace.create('directory');
    workspaces.push(w);
    await fs.writeFile(w.config, `# my backups\n${await fs.readFile(w.config, 'utf8')}`);
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(0);
    const kept = JSON.parse(await fs.readFile(path.join(w.state, 'ledger.json'), 'utf8')) as { drives: Record<string, unknown> };
    expect(Object.keys(kept.drives)).toEqual(['d1']);
    const before = await w.tree(w.drive);
    const oldId = JSON.parse(await fs.readFile(path.join(w.drive, 'plugback', 'drive.json'), 'utf8')).id as string;

    const r = await w.cli(['drive', 'retire', 'd1']);
    expect(r.code, shown(r)).toBe(0);
    expect(r.stdout).toContain('drive "d1" is retired on this machine; nothing on any drive was changed.');
    expect(r.stdout).toContain(`drives.d1 was removed from ${w.config}`);
    const config = await fs.readFile(w.config, 'utf8');
    expect(config).toContain('# my backups');
    expect(config).not.toContain(w.drive);
    expect(await w.tree(w.drive)).toEqual(before);
    const known = JSON.parse(await fs.readFile(path.join(w.state, 'known-drives.json'), 'utf8')) as Record<string, unknown>;
    expect(known).not.toHaveProperty('d1');
    const ledger = JSON.parse(await fs.readFile(path.join(w.state, 'ledger.json'), 'utf8')) as { drives: Record<string, unknown> };
    expect(Object.keys(ledger.drives)).toEqual([]);
    const retired = JSON.parse(await fs.readFile(path.join(w.state, 'retired-drives.json'), 'utf8')) as { name: string; id: string; ledger: { snapshotCount?: number } }[];
    expect(retired).toEqual([expect.objectContaining({ name: 'd1', id: oldId, ledger: expect.objectContaining({ snapshotCount: 1 }) })]);
    const drives = await w.cli(['drives', '--json']);
    expect(drives.stdout).not.toContain('"d1"');

    // The replacement: a new, empty target under the same name.
    const fresh = path.join(w.dir, 'new-drive');
    await fs.mkdir(fresh);
    await fs.writeFile(w.config, config.replace('drives: {}', `drives: {d1: {path: ${fresh}}}`));
    expect((await w.cli(['drive', 'adopt', 'd1'])).code).toBe(0);
    const again = await w.cli(['run', 'd1']);
    expect(again.code, shown(again)).toBe(0);
    expect(again.messages.join('\n')).toContain('first snapshot');
  });

  it('renames a LUKS drive\'s key file and header backup aside, and refuses an unknown name', async () => {
    const w = await Workspace.create('directory');
    workspaces.push(w);
    const keys = path.join(w.dir, 'keys');
    await fs.mkdir(keys, { mode: 0o700 });
    for (const f of ['lk.key', 'lk.luks-header']) await fs.writeFile(path.join(keys, f), 'secret', { mode: 0o400 });
    const text = await fs.readFile(w.config, 'utf8');
    await fs.writeFile(w.config, text.replace(`drives: {d1: {path: ${w.drive}}}`, `drives: {d1: {path: ${w.drive}}, lk: {uuid: 0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0, keyFile: ${keys}/lk.key}}`));
    const r = await w.cli(['drive', 'retire', 'lk']);
    expect(r.code, shown(r)).toBe(0);
    const left = (await fs.readdir(keys)).sort();
    expect(left).toHaveLength(2);
    expect(left[0]).toMatch(/^lk\.key\.retired-\d{4}-\d\d-\d\dT\d{6}Z$/);
    expect(left[1]).toMatch(/^lk\.luks-header\.retired-\d{4}-\d\d-\d\dT\d{6}Z$/);
    expect(r.stdout).toContain(`${keys}/lk.key was renamed ${keys}/${left[0]}`);
    expect(await fs.readFile(w.config, 'utf8')).toContain(`d1: {path: ${w.drive}}`);
    const unknown = await w.cli(['drive', 'retire', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('nope');
  });
});
