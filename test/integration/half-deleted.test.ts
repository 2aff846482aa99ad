// Pruning interrupted by a pull leaves <snapshot>.deleting folders. They look just like snapshots inside (a record,
// the files), but are never one: not listed, not restored from, not the newest, not counted; and the next run that
// completes a snapshot removes them and says so.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { snapshotSummaries } from '../../src/cli/snapshots-cmd.js';
import { driveFacts } from '../../src/notify/drive-facts.js';
import { withRepository } from '../../src/repo/repository.js';
import { findSnapshot } from '../../src/restore/plan.js';
import { pathVersions } from '../../src/restore/versions.js';
import { BackupFixture } from '../helpers/backup-fixture.js';

const fixtures: BackupFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup();
});

describe('half-deleted snapshots (.deleting)', () => {
  it('never count as snapshots, and the next completed run removes them with one log line', async () => {
    const f = await BackupFixture.create();
    fixtures.push(f);
    await fs.writeFile(path.join(f.source, 'letter.txt'), 'first\n');
    const first = await f.run();
    expect(first.outcome).toBe('success');
    const good = first.snapshot as string;

    // What three interrupted prunes leave: copies of a real snapshot renamed to .deleting, one dated after the good one.
    const later = '2099-01-01T000000Z';
    const doomed = [`${later}.deleting`, '2020-01-01T000000Z.deleting', 'x7Qp2_2020-02-02T000000Z.deleting'];
    for (const name of doomed) await fs.cp(path.join(f.snapshotsDir(), good), path.join(f.snapshotsDir(), name), { recursive: true });
    const record = JSON.parse(await fs.readFile(path.join(f.snapshotsDir(), `${later}.deleting`, 'snapshot.json'), 'utf8')) as { name: string };
    record.name = later;
    await fs.writeFile(path.join(f.snapshotsDir(), `${later}.deleting`, 'snapshot.json'), JSON.stringify(record));

    const listing = await withRepository(f.drivePath, f.config.host, (repo) => repo.list(true));
    expect(listing.complete.map((s) => s.name)).toEqual([good]);
    expect(listing.deleting.sort()).toEqual([...doomed].sort());
    expect((await snapshotSummaries(f.config, f.drive)).summaries.map((s) => s.name)).toEqual([good]);
    expect(await driveFacts(f.config, f.drive, true)).toMatchObject({ snapshotCount: 1 });
    await withRepository(f.drivePath, f.config.host, async (repo) => {
      expect((await findSnapshot(repo, 'latest')).snapshot.name).toBe(good);
      await expect(findSnapshot(repo, `${later}.deleting`)).rejects.toThrow(/no snapshot/);
      expect((await pathVersions(repo, path.join(f.source, 'letter.txt'))).map((v) => v.snapshot)).toEqual([good]);
    });

    await fs.writeFile(path.join(f.source, 'letter.txt'), 'second\n');
    const next = await f.run();
    expect(next.outcome).toBe('success');
    expect(await f.listSnapshotNames()).toEqual([good, next.snapshot].sort());
    const said = f.logs.filter((l) => l.msg.startsWith('removed 3 half-deleted snapshots left by an interrupted prune'));
    expect(said).toHaveLength(1);
    for (const name of doomed) expect(said[0]?.msg).toContain(name);
  });
});
