// SMART for the sandboxed daemon: its sandbox may not open a raw disk, so systemd runs plugback-smart@<disk>
// (`plugback smart-read DISK`, outside the sandbox) and the daemon reads what it left in /run/plugback/smart/.
import type { UnitJobs } from './drive-mounts.js';
import { readSmartFile } from './smart-file.js';
import type { SmartReading } from './smart.js';
import { journalHint } from './unit-journal.js';
import { systemdEscape } from '../units/escape.js';

/** How the health step gets a disk's reading: readSmart itself, or this through systemd. */
export type SmartReader = (disk: string, signal?: AbortSignal) => Promise<SmartReading>;

/** smartctl waits up to 60 s, twice with the -d sat retry; then node's start. */
const SMART_UNIT_TIMEOUT_MS = 150_000;

/** A SmartReader that asks systemd to read `disk` and takes the reading it left; never throws for a disk it cannot read. */
export function smartThroughSystemd(systemd: UnitJobs): SmartReader {
  return async (disk) => {
    const unit = systemdEscape(disk, { path: true, template: 'plugback-smart@.service' });
    const state = await systemd.unitState(unit);
    if (state.loadState === 'not-found') {
      return { verdict: 'unavailable', note: `systemd has no unit ${unit}, which reads SMART for the daemon: run "plugback install" (it writes plugback-smart@.service)` };
    }
    const askedAt = new Date();
    const result = await systemd.startUnit(unit, SMART_UNIT_TIMEOUT_MS);
    if (result !== 'done') return { verdict: 'unavailable', note: `${unit} ended "${result}"${await journalHint(unit)}` };
    return readSmartFile(disk, askedAt);
  };
}
