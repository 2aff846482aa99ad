// The drive-safety audit's record and identity attacks (D6, D7, D8, D14): what a drive says about its snapshots
// can only make plugback more careful. The real CLI, run as root, on a real directory drive.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shown, Workspace } from '../helpers/cli-workspace.js';

const KEEP_ONE = 'retention: {keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0}';
let ws: Workspace | undefined;

afterEach(async () => {
  await ws?.cleanup();
  ws = undefined;
});

async function workspace(extra = KEEP_ONE): Promise<Workspace> {
  ws = await Workspace.create('directory', extra);
  return ws;
}

/** Moves every file out of the source, as if its disk were not mounted. */
async function emptySource(w: Workspace, keep: string[] = []): Promise<void> {
  const hold = path.join(w.dir, 'hold');
  await fs.mkdir(hold, { recursive: true });
  for (const name of await fs.readdir(w.src)) if (!keep.includes(name)) await fs.rename(path.join(w.src, name), path.join(hold, name));
}

/** Waits into the next second, so the next run's snapshot has a name of its own. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));

describe('a damaged or forged snapshot record (D6)', () => {
  it('does not switch off the empty-source check: an unmounted source is refused, and the only good snapshot stays', async () => {
    const w = await workspace();
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const [good] = await w.completeSnapshots();
    await fs.writeFile(path.join(w.snapshots, good as string, 'snapshot.json'), '');
    await emptySource(w);
    await nextSecond();
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(1);
    expect(run.stdout).toContain('is empty but had files at the last snapshot');
    expect(await w.completeSnapshots()).toEqual([good]);
    expect(Object.keys(await w.tree(path.join(w.snapshots, good as string, 'photos', w.src)))).toHaveLength(22);
  });

  it('does not switch off the shrink check: a source that lost most files is refused by what this machine remembers', async () => {
    const w = await workspace();
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const [good] = await w.completeSnapshots();
    // A forged record that claims the snapshot held a single file.
    const file = path.join(w.snapshots, good as string, 'snapshot.json');
    const record = JSON.parse(await fs.readFile(file, 'utf8')) as { states: { photos: { files: number; bytes: number } } };
    record.states.photos.files = 1;
    record.states.photos.bytes = 8;
    await fs.writeFile(file, JSON.stringify(record));
    await emptySource(w, ['p1.jpg']);
    await nextSecond();
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(1);
    expect(run.stdout).toMatch(/the source shrank by more than 50%.*has 1 files \(was 21/);
    expect(await w.completeSnapshots()).toEqual([good]);
  });

  it('never prunes a snapshot whose record cannot be read, and says why', async () => {
    const w = await workspace();
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const [damaged] = await w.completeSnapshots();
    await fs.writeFile(path.join(w.snapshots, damaged as string, 'snapshot.json'), '{"format": 1, "na');
    await nextSecond();
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(3);
    expect(run.stdout).toContain(`the record of snapshot ${damaged} cannot be used: its snapshot.json is not JSON`);
    expect(run.messages.some((m) => m.startsWith('never pruned:') && m.includes(damaged as string))).toBe(true);
    expect(await w.completeSnapshots()).toHaveLength(2);
  });
});

describe('a snapshot dated in the future (D7)', () => {
  it('is never the newest, never prunes the real ones, and restore brings back the latest data', async () => {
    const w = await workspace();
    const doc = path.join(w.src, 'doc.txt');
    await fs.writeFile(doc, 'v1\n');
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const [first] = await w.completeSnapshots();
    const future = '2030-01-01T000000Z';
    await fs.rename(path.join(w.snapshots, first as string), path.join(w.snapshots, future));
    const recordFile = path.join(w.snapshots, future, 'snapshot.json');
    await fs.writeFile(recordFile, (await fs.readFile(recordFile, 'utf8')).replaceAll(first as string, future));
    for (const v of ['v2', 'v3']) {
      await fs.writeFile(doc, `${v}\n`);
      await nextSecond();
      const run = await w.cli(['run', 'd1']);
      expect(run.code, shown(run)).toBe(3);
      expect(run.stdout).toContain(`snapshot ${future} is dated after now`);
    }
    const snapshots = await w.completeSnapshots();
    expect(snapshots).toHaveLength(2);
    expect(snapshots).toContain(future);
    const to = path.join(w.dir, 'restored');
    const restore = await w.cli(['restore', 'd1', '--path', doc, '--to', to, '--yes']);
    expect(restore.code, shown(restore)).toBe(0);
    expect(await fs.readFile(path.join(to, doc), 'utf8')).toBe('v3\n');
  });
});

describe('two machines with the same host name on one drive (D8)', () => {
  it("refuses the second one's run instead of pruning the first one's snapshots; drive claim is the way after a reinstall", async () => {
    const w = await workspace();
    expect((await w.cli(['run', 'd1'])).code).toBe(0);
    const [first] = await w.completeSnapshots();
    // Machine 2: the same host name, its own stateDir (so its own installation id), the same drive.
    const other = path.join(w.dir, 'config-2.yaml');
    await w.writeConfig(KEEP_ONE, 'h1', path.join(w.dir, 'state-2'));
    await fs.rename(w.config, other);
    await w.writeConfig(KEEP_ONE);
    expect((await w.cli(['drive', 'adopt', 'd1'], { config: other })).code).toBe(0);
    await nextSecond();
    const refused = await w.cli(['run', 'd1'], { config: other });
    expect(refused.code, shown(refused)).toBe(1);
    expect(refused.stdout).toContain('belongs to another plugback installation');
    expect(refused.stdout).toContain('plugback drive claim d1');
    expect(await w.completeSnapshots()).toEqual([first]);

    // Claimed, machine 2 backs up, but still never prunes a snapshot that machine 1 made.
    expect((await w.cli(['drive', 'claim', 'd1'], { config: other })).code).toBe(0);
    const run = await w.cli(['run', 'd1'], { config: other });
    expect(run.code, shown(run)).toBe(0);
    expect(await w.completeSnapshots()).toHaveLength(2);
    expect(await w.completeSnapshots()).toContain(first);
  });
});

describe('a folder that is normally empty (D14)', () => {
  it('does not block every later backup of its state', async () => {
    const w = await workspace('');
    const spool = path.join(w.dir, 'src', 'spool');
    await fs.mkdir(spool);
    await fs.writeFile(w.config, (await fs.readFile(w.config, 'utf8')).replace(`folders: [${w.src}]`, `folders: [${w.src}, ${spool}]`));
    for (let i = 0; i < 3; i++) {
      await nextSecond();
      const run = await w.cli(['run', 'd1']);
      expect(run.code, shown(run)).toBe(0);
    }
    // It still guards the folder that had files.
    await emptySource(w);
    await nextSecond();
    const run = await w.cli(['run', 'd1']);
    expect(run.code, shown(run)).toBe(1);
    expect(run.stdout).toContain(`${w.src} is empty but had files`);
    expect(run.stdout).not.toContain(`${spool} is empty`);
  });
});
