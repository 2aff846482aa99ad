// The daemon on a btrfs LUKS drive, run without CAP_SYS_ADMIN as its sandbox runs it (setpriv), on a private
// D-Bus with the peer playing udisks2 and systemd1 (which starts units/plugback-delete-subvolume@.service by
// running what it runs): two plugs, and the second backup's prune deletes the first snapshot's subvolume at
// once through that unit, not file by file.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonFixture } from '../helpers/daemon-fixture.js';

const execFileP = promisify(execFile);
const WITHOUT_SYS_ADMIN = ['setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin', '--'];

let fixture: DaemonFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

describe('plugback daemon on a btrfs drive', () => {
  it('prunes a snapshot subvolume at once through plugback-delete-subvolume@.service, lacking CAP_SYS_ADMIN itself', async () => {
    const f = (fixture = await DaemonFixture.create());
    await f.addDrive('offsite-a', { fs: 'btrfs' });
    await f.writeConfig({
      backup: {
        lockFile: path.join(f.root, 'plugback.lock'),
        verifySample: 0,
        retention: { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 },
      },
    });
    const daemon = await f.startDaemon({}, WITHOUT_SYS_ADMIN);
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');
    const [first] = await f.inspect('offsite-a', async (repo) => (await fs.readdir(repo.snapshots)).filter((n) => n !== 'latest'));
    await f.unplug('offsite-a');
    // Snapshot names are per second.
    await sleep(1100);
    await fs.writeFile(path.join(f.source, 'docs', 'letter.txt'), 'Dear plugback, again\n');
    daemon.lines.length = 0;
    await f.plug('offsite-a');
    await f.waitForLog(/is done: safe to remove/, 'offsite-a');

    const messages = daemon.lines.map((l) => l.msg);
    expect(messages).toContain(`pruning snapshot ${first} (not kept by the retention policy)`);
    expect(messages.filter((m) => m.includes('deleted file by file'))).toEqual([]);
    const calls = (await f.peer.calls()).map((c) => `${c.member} ${c.args[0] ?? ''}`);
    expect(calls.filter((c) => c.startsWith('StartUnit plugback-delete-subvolume@'))).toHaveLength(1);
    await f.inspect('offsite-a', async (repo, root) => {
      const left = (await fs.readdir(repo.snapshots)).filter((n) => n !== 'latest');
      expect(left).toHaveLength(1);
      expect(left).not.toContain(first);
      expect(await fs.readFile(path.join(repo.snapshots, left[0] as string, 'data', f.source, 'docs', 'letter.txt'), 'utf8')).toBe('Dear plugback, again\n');
      const { stdout } = await execFileP('btrfs', ['subvolume', 'list', root]);
      expect(stdout).not.toContain(first);
    });
  });
});
