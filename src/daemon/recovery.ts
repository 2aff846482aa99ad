// What an earlier daemon (killed, crashed, or the machine lost power) may have left behind, put right before
// anything new starts: a drive still mounted at plugback's mount point, and a LUKS mapping still open.
// Interrupted snapshots (`.incomplete`) stay on the drive: the next backup continues them.
import type { Logger } from 'pino';
import type { Config, LuksDrive } from '../config/model.js';
import { withRepository } from '../repo/repository.js';
import { mountAt } from '../system/mounts.js';
import { closeStaleMapping } from '../system/dm-mapping.js';
import { unmountOrDetach } from '../system/mount-device.js';
import type { Systemd1 } from '../system/systemd1.js';
import { cryptsetupUnit } from '../units/escape.js';

const STOP_TIMEOUT_MS = 60_000;

export async function recoverLeftovers(config: Config, systemd: Systemd1, log: Logger): Promise<void> {
  for (const drive of config.drives) {
    if (drive.kind !== 'luks') continue;
    try {
      await unmountLeftover(config, drive, log);
      await closeLeftover(drive, systemd, log);
    } catch (error) {
      log.error({ drive: drive.name }, `could not clean up after an earlier run of drive "${drive.name}": ${(error as Error).message}`);
    }
  }
}

async function unmountLeftover(config: Config, drive: LuksDrive, log: Logger): Promise<void> {
  const mounted = await mountAt(drive.mountPoint).catch(() => undefined);
  if (!mounted) return;
  const listing = await withRepository(drive.mountPoint, config.host, (repo) => repo.list()).catch(() => undefined);
  for (const name of listing?.incomplete ?? []) {
    log.info({ drive: drive.name, snapshot: name }, `interrupted snapshot ${name} on drive "${drive.name}" is kept; the next backup continues it`);
  }
  const detached = await unmountOrDetach(drive.mountPoint);
  if (detached) log.warn({ drive: drive.name }, detached);
  log.warn({ drive: drive.name, mountPoint: drive.mountPoint }, `unmounted ${mounted.source} from ${drive.mountPoint}, left mounted by an earlier run`);
}

async function closeLeftover(drive: LuksDrive, systemd: Systemd1, log: Logger): Promise<void> {
  const unit = cryptsetupUnit(drive.cryptName);
  const state = await systemd.unitState(unit);
  if (state.loadState !== 'not-found' && (state.activeState === 'active' || state.activeState === 'activating')) {
    const result = await systemd.stopUnit(unit, STOP_TIMEOUT_MS);
    if (result !== 'done') throw new Error(`stopping ${unit} ended "${result}"`);
    log.warn({ drive: drive.name, unit }, `closed the LUKS mapping ${drive.cryptName}, left open by an earlier run`);
  }
  // A mapping whose disk was pulled out while busy outlives its (stopped) unit.
  if (await closeStaleMapping(drive.cryptName)) {
    log.warn({ drive: drive.name }, `closed the stale LUKS mapping ${drive.cryptName}, left behind when its drive was pulled out`);
  }
}
