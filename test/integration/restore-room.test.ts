// What a restore says before it starts: how much it changes and writes (from rsync's dry run), asked under a real
// pseudo-terminal (script(1)); and its refusal, before anything is moved, when the destination lacks the room:
// a real 1 MiB tmpfs as the --to folder, a 2 MiB file in the snapshot.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/config/units.js';
import { CLI, shown, Workspace } from '../helpers/cli-workspace.js';

const execFileP = promisify(execFile);
const workspaces: Workspace[] = [];
const mounts: string[] = [];
afterEach(async () => {
  for (const m of mounts.splice(0)) await execFileP('umount', [m]).catch(() => undefined);
  for (const w of workspaces.splice(0)) await w.cleanup();
});

/** A workspace whose source also holds a 2 MiB file, backed up once. */
async function backedUp(): Promise<Workspace> {
  const w = await Workspace.create();
  workspaces.push(w);
  await fs.writeFile(path.join(w.src, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 7));
  const r = await w.cli(['run', 'd1']);
  expect(r.code, shown(r)).toBe(0);
  return w;
}

/** The bytes of the files under `dir`, as the restore writes them all. */
async function fileBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += (await fs.stat(path.join(e.parentPath, e.name))).size;
  return total;
}

describe('restore, before it starts', () => {
  it('refuses, with how much it needs and how much is free, when the --to file system is too small; nothing is written', async () => {
    const w = await backedUp();
    const small = path.join(w.dir, 'small');
    await fs.mkdir(small);
    await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    mounts.push(small);
    const r = await w.cli(['restore', 'd1', '--to', small, '--yes']);
    expect(r.code, shown(r)).toBe(1);
    const needed = formatBytes(await fileBytes(w.src));
    expect(r.stderr).toContain(`not enough room for this restore on the file system of ${small}: it writes about ${needed} and 1.00 MiB are free; nothing was changed`);
    expect(r.stderr).toContain('restore with --to DIR elsewhere');
    expect(await fs.readdir(small)).toEqual([]);
  });

  it('says what it changes and writes, then asks on a terminal; "n" changes nothing', async () => {
    const w = await backedUp();
    const before = await fileBytes(w.src);
    await fs.writeFile(path.join(w.src, 'p1.jpg'), 'edited\n');
    await fs.writeFile(path.join(w.src, 'new.txt'), 'new\n');
    const command = [process.execPath, CLI, 'restore', 'd1', '--config', w.config].map((a) => `'${a}'`).join(' ');
    // script(1) gives the restore a pseudo-terminal as stdin and stdout; "n" is typed at the prompt.
    // The restore exits 2 after "n" (nothing done), and script with it.
    const stdout = await execFileP('sh', ['-c', `printf 'n\\n' | script -qec "$0" /dev/null`, command]).then(
      (r) => r.stdout,
      (e: { stdout: string }) => e.stdout,
    );
    const text = stdout.replace(/\r/g, '');
    expect(text).toContain(`this restore changes 2 entries (0 to create, 1 to change, 1 to delete) and writes about ${formatBytes(before)} (all of it: the current data is set aside, not reused)\n`);
    expect(text.indexOf('this restore changes')).toBeLessThan(text.indexOf('Restore now? [y/N]'));
    expect(text).toContain('nothing was changed');
    expect(await fs.readFile(path.join(w.src, 'p1.jpg'), 'utf8')).toBe('edited\n');
  });

  it('with --no-keep counts only what rsync sends into the current data', async () => {
    const w = await backedUp();
    await fs.writeFile(path.join(w.src, 'p1.jpg'), 'edited\n');
    const r = await w.cli(['restore', 'd1', '--yes', '--no-keep']);
    expect(r.code, shown(r)).toBe(0);
    // p1.jpg's 8 bytes ("photo 1\n"), not the 2 MiB file that did not change.
    expect(r.stdout).toContain('this restore changes 1 entry (0 to create, 1 to change, 0 to delete) and writes about 8 B\n');
    expect(await fs.readFile(path.join(w.src, 'p1.jpg'), 'utf8')).toBe('photo 1\n');
  });
});
