// `plugback snapshots` on a drive that is not what the config says: a missing folder, one never adopted, one
// that is another drive. Each is an error a user sees (exit 1 and why), never "no snapshots yet".
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';

const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

async function workspace(adopt: boolean): Promise<Workspace> {
  const w = await Workspace.create('directory', '', adopt);
  workspaces.push(w);
  return w;
}

describe('plugback snapshots', () => {
  it('says the drive is not there, exit 1, when its folder does not exist', async () => {
    const w = await workspace(false);
    await fs.rmdir(w.drive);
    const r = await w.cli(['snapshots', 'd1']);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain(`${w.drive} does not exist or is not a directory: drive "d1" is not there`);
    expect(r.stdout).not.toContain('no snapshots yet');
  });

  it('says a folder that was never adopted is not known to be the drive, and how to adopt it', async () => {
    const w = await workspace(false);
    const r = await w.cli(['snapshots', 'd1']);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain('carries no plugback identity');
    expect(r.stderr).toContain('plugback drive adopt d1');
  });

  it('refuses a folder that is another drive', async () => {
    const w = await workspace(true);
    const identity = path.join(w.drive, 'plugback', 'drive.json');
    const record = JSON.parse(await fs.readFile(identity, 'utf8')) as { name: string };
    await fs.writeFile(identity, JSON.stringify({ ...record, name: 'd2' }));
    const r = await w.cli(['snapshots', 'd1']);
    expect(r.code, shown(r)).toBe(1);
    expect(r.stderr).toContain('is drive "d2"');
  });

  it('says "no snapshots yet", exit 0, on the adopted drive before its first backup, and lists the first one after it', async () => {
    const w = await workspace(true);
    const before = await w.cli(['snapshots', 'd1']);
    expect(before.code, shown(before)).toBe(0);
    expect(before.stdout).toBe('no snapshots yet\n');
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const after = await w.cli(['snapshots', 'd1']);
    expect(after.code, shown(after)).toBe(0);
    expect(after.stdout).toContain((await w.completeSnapshots())[0]);
  });
});
