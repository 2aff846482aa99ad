// The daemon's SMART reader: what it says when systemd has no plugback-smart@ unit or the unit fails, and which
// files it refuses to trust. systemd is a stand-in here (UnitJobs); the files are real, in a temporary folder.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UnitJobs } from '../../src/system/drive-mounts.js';
import { readSmartFile, smartFileOf, writeSmartFile } from '../../src/system/smart-file.js';
import { smartThroughSystemd } from '../../src/system/smart-through-systemd.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  delete process.env.PLUGBACK_SMART_DIR;
});

async function smartDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-smart-unit-'));
  dirs.push(dir);
  return path.join(dir, 'smart');
}

function systemd(loadState: string, result: string, started: string[] = []): UnitJobs {
  return {
    unitState: async () => ({ loadState, activeState: 'inactive', subState: 'dead' }),
    startUnit: async (unit) => {
      started.push(unit);
      return result;
    },
    stopUnit: async () => 'done',
  };
}

describe('SMART through systemd', () => {
  it('says to run plugback install when systemd has no plugback-smart@ unit, and starts nothing', async () => {
    const started: string[] = [];
    const reading = await smartThroughSystemd(systemd('not-found', 'done', started))('/dev/sdb');
    expect(reading).toEqual({ verdict: 'unavailable', note: 'systemd has no unit plugback-smart@dev-sdb.service, which reads SMART for the daemon: run "plugback install" (it writes plugback-smart@.service)' });
    expect(started).toEqual([]);
  });

  it('a failed unit is unavailable, with where to look', async () => {
    const reading = await smartThroughSystemd(systemd('loaded', 'failed'))('/dev/sdb');
    expect(reading.verdict).toBe('unavailable');
    expect(reading.note).toMatch(/^plugback-smart@dev-sdb\.service ended "failed"; (systemd's log says: |see "journalctl -u 'plugback-smart@dev-sdb\.service'")/);
  });

  it('takes the reading the unit left for the disk it asked about', async () => {
    process.env.PLUGBACK_SMART_DIR = await smartDir();
    const jobs = systemd('loaded', 'done');
    jobs.startUnit = async () => {
      await writeSmartFile('/dev/sdb', { verdict: 'passed', model: 'M', reallocated: 0 });
      return 'done';
    };
    expect(await smartThroughSystemd(jobs)('/dev/sdb')).toEqual({ verdict: 'passed', model: 'M', reallocated: 0 });
  });
});

describe('the SMART reading file', () => {
  it('is not trusted when missing, stale, of another disk, or of another shape', async () => {
    const dir = await smartDir();
    const now = new Date();
    expect((await readSmartFile('/dev/sdb', now, dir)).note).toMatch(/^plugback-smart@ left no reading in .*dev-sdb\.json \(ENOENT\)$/);

    await writeSmartFile('/dev/sdb', { verdict: 'failed' }, dir);
    expect((await readSmartFile('/dev/sdb', new Date(Date.now() + 60_000), dir)).note).toMatch(/is a reading from .*, from before this backup$/);

    const file = smartFileOf('/dev/sdb', dir);
    const written = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    await fs.writeFile(file, JSON.stringify({ ...written, disk: '/dev/sdc' }));
    expect((await readSmartFile('/dev/sdb', now, dir)).note).toBe(`${file} holds the reading of /dev/sdc, not of /dev/sdb`);

    await fs.writeFile(file, JSON.stringify({ ...written, reading: { verdict: 'passed', extra: 1 } }));
    expect(await readSmartFile('/dev/sdb', now, dir)).toEqual({ verdict: 'unavailable', note: `${file} is not a SMART reading plugback wrote; it was not used` });
  });
});
