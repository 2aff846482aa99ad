// What the D-Bus API says and does, in D-Bus shapes (a{sv} dictionaries of variants): the running job, the
// drives with their ledger records, a job's result, and the snapshot listing and deletion it offers.
import dbus from 'dbus-next';
import { driveRoot, type Config, type Drive } from '../config/model.js';
import { RequestError } from '../daemon/request-error.js';
import type { DaemonControl, JobStatus } from './daemon-port.js';
import type { JobResult } from '../job/events.js';
import { readLedger } from '../notify/ledger.js';
import { recallSnapshot } from '../repo/host-memory.js';
import { ForgetRefused, forgetSnapshot } from '../repo/forget.js';
import { withRepository } from '../repo/repository.js';
import { acquireLock, LockFileError } from '../system/flock.js';
import { publicReason } from '../system/program-output.js';
import { mountAt } from '../system/mounts.js';

const { Variant } = dbus;
type Dict = Record<string, InstanceType<typeof Variant>>;

/** Keys whose value is undefined are left out: a{sv} has no "null". */
function dict(entries: Record<string, [string, unknown] | undefined>): Dict {
  const out: Dict = {};
  for (const [key, entry] of Object.entries(entries)) {
    if (entry && entry[1] !== undefined) out[key] = new Variant(entry[0], entry[1]);
  }
  return out;
}

export function jobDict(status: JobStatus | undefined): Dict {
  if (!status) return {};
  const p = status.progress;
  return dict({
    Drive: ['s', status.drive],
    Step: ['s', status.step],
    CopyingState: ['s', p?.state],
    Percent: ['d', p?.percent],
    Bytes: ['t', p && BigInt(Math.round(p.bytes))],
    Rate: ['d', p?.rate],
    EtaSeconds: ['t', p?.etaSeconds !== undefined ? BigInt(Math.round(p.etaSeconds)) : undefined],
  });
}

export function resultDict(r: JobResult): Dict {
  return dict({
    Drive: ['s', r.drive],
    Outcome: ['s', r.outcome],
    DurationMs: ['t', BigInt(r.durationMs)],
    TransferredBytes: ['t', BigInt(r.transferredBytes)],
    Snapshot: ['s', r.snapshot],
    FailedStep: ['s', r.failedStep],
    Error: ['s', r.error === undefined ? undefined : publicReason(r.error)],
    Cause: ['s', r.ending.cause],
    Step: ['s', r.ending.step],
    Title: ['s', r.ending.title],
    Advice: ['s', r.ending.advice || undefined],
  });
}

export async function driveDicts(daemon: Pick<DaemonControl, 'currentConfig' | 'driveStatus'>): Promise<Record<string, Dict>> {
  const ledger = await readLedger(daemon.currentConfig.stateDir).catch(() => ({}) as Awaited<ReturnType<typeof readLedger>>);
  const out: Record<string, Dict> = {};
  for (const d of daemon.driveStatus()) {
    const record = ledger[d.name];
    out[d.name] = dict({
      Kind: ['s', d.kind],
      Present: ['b', d.present],
      Queued: ['b', d.queued],
      Overdue: ['b', d.overdue],
      Open: ['s', d.open],
      LastSuccess: ['s', record?.lastSuccess],
      LastFailure: ['s', record?.lastFailure?.at],
      LastFailureStep: ['s', record?.lastFailure?.step],
      LastFailureReason: ['s', record?.lastFailure && publicReason(record.lastFailure.reason)],
      SnapshotCount: ['u', record?.snapshotCount],
      FreeBytes: ['t', record?.freeBytes !== undefined ? BigInt(record.freeBytes) : undefined],
    });
  }
  return out;
}

/** The drive's repository, when its files can be read now: a directory target, or a LUKS drive while mounted. */
export async function reachableRepo(config: Config, name: string): Promise<{ drive: Drive; root: string }> {
  const drive = config.drives.find((d) => d.name === name);
  if (!drive) throw new RequestError(`there is no drive "${name}" (drives: ${config.drives.map((d) => d.name).join(', ') || 'none'})`);
  if (drive.kind === 'luks' && !(await mountAt(drive.mountPoint).catch(() => undefined))) {
    throw new RequestError(`drive "${name}" is not mounted: open it with "plugback open ${name}" (read-only), or read its snapshots while it is being backed up`);
  }
  return { drive, root: driveRoot(drive) };
}

export async function listSnapshotsAsDicts(daemon: DaemonControl, name: string): Promise<Dict[]> {
  const { root } = await reachableRepo(daemon.currentConfig, name);
  const listing = await withRepository(root, daemon.currentConfig.host, (repo) => repo.list(true));
  return listing.complete.map((s) => {
    const states = Object.values(s.record?.states ?? {});
    return dict({
      Id: ['s', s.name],
      Time: ['s', s.time.toISOString()],
      FinishedAt: ['s', s.record?.finishedAt],
      Bytes: ['t', s.record ? BigInt(states.reduce((sum, st) => sum + st.bytes, 0)) : undefined],
      TransferredBytes: ['t', s.record ? BigInt(states.reduce((sum, st) => sum + st.transferredBytes, 0)) : undefined],
    });
  });
}

/** Deletes snapshot `id` of `name` under the repository lock; the newest snapshot is never deleted. */
export async function deleteSnapshotAsRequested(daemon: DaemonControl, name: string, id: string, requestedBy: string): Promise<void> {
  if (daemon.jobStatus()?.drive === name) throw new RequestError(`drive "${name}" is being backed up right now; delete snapshots after the job`);
  const { root } = await reachableRepo(daemon.currentConfig, name);
  const config = daemon.currentConfig;
  const { memory } = await recallSnapshot(config.stateDir, name);
  const lock = await acquireLock(config.backup.lockFile, { waitMs: 0, owner: { what: 'delete-snapshot', drive: name } }).catch((error: unknown) => {
    if (error instanceof LockFileError) throw new RequestError(error.message);
    throw new RequestError(`the repository lock ${config.backup.lockFile} is held by another plugback job; try again later`);
  });
  try {
    await withRepository(root, config.host, (repo) => forgetSnapshot(repo, id, memory?.snapshot)).catch((error: unknown) => {
      if (error instanceof ForgetRefused) throw new RequestError(`drive "${name}": ${error.message}`);
      throw error;
    });
  } finally {
    await lock.release();
  }
  daemon.logRequest(name, `snapshot ${id} of drive "${name}" deleted, as requested by ${requestedBy}`);
}
