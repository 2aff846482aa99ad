// drives.<name>.drill: the restore drill the backup job runs after a good backup (real CLI as root, real rsync):
// due on the first backup and then every Nth, it restores files through the restore code and compares them;
// damage is a warning (exit 3) that `plugback drives` keeps showing, and the record is in the ledger.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { flipByte } from '../helpers/bit-rot.js';
import { shown, Workspace } from '../helpers/cli-workspace.js';

const workspaces: Workspace[] = [];
afterEach(async () => {
  for (const w of workspaces.splice(0)) await w.cleanup();
});

const ledgerDrill = async (w: Workspace) => (JSON.parse(await fs.readFile(path.join(w.state, 'ledger.json'), 'utf8')) as { drives: Record<string, { drill?: Record<string, unknown> }> }).drives.d1?.drill;

describe('the restore drill after a backup', () => {
  it('runs on the first backup and every second one, and a byte flipped in an old snapshot is a warning that drives keeps', async () => {
    const w = await Workspace.create('ext4');
    workspaces.push(w);
    const text = await fs.readFile(w.config, 'utf8');
    await fs.writeFile(w.config, text.replace(`drives: {d1: {path: ${w.drive}}}`, `drives: {d1: {path: ${w.drive}, drill: {everyBackups: 2, files: 100}}}`));
    await fs.writeFile(path.join(w.src, 'old.txt'), 'the first version\n');

    const first = await w.cli(['run', 'd1']);
    expect(first.code, shown(first)).toBe(0);
    expect(first.messages).toContain('restore drill: 22 files picked from 1 snapshots were restored and came back as backed up');
    expect(await ledgerDrill(w)).toMatchObject({ files: 22, damaged: 0, backupsSince: 0 });

    await sleep(1100);
    await fs.writeFile(path.join(w.src, 'old.txt'), 'the second version\n');
    const second = await w.cli(['run', 'd1']);
    expect(second.code, shown(second)).toBe(0);
    expect(second.messages.join('\n')).not.toContain('restore drill');
    expect(await ledgerDrill(w)).toMatchObject({ files: 22, backupsSince: 1 });

    const [oldest] = await w.completeSnapshots();
    await flipByte(path.join(w.snapshots, oldest as string, 'photos', w.src, 'old.txt'));
    await sleep(1100);
    const third = await w.cli(['run', 'd1']);
    expect(third.code, shown(third)).toBe(3);
    expect(third.messages.join('\n')).toContain(`the restore drill found damage on drive "d1": 1 of 66 files did not come back as backed up (photos${w.src}/old.txt in snapshot ${oldest} was restored with different content than when it was backed up)`);
    expect(await ledgerDrill(w)).toMatchObject({ files: 66, damaged: 1, backupsSince: 0 });
    const drives = await w.cli(['drives']);
    expect(drives.stdout).toContain('DRILL FOUND DAMAGE');
    const check = await w.cli(['drives', '--check']);
    expect(check.code).toBe(1);
    expect(check.stdout + check.stderr).toContain('the restore drill');
  });
});
