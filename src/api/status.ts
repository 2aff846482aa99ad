// What the D-Bus API says and does, in D-Bus shapes (a{sv} dictionaries of variants): the running job, the
// drives with their ledger records, a job's result, and the snapshot listing and deletion it offers.
import dbus from 'dbus-next';
import { driveRoot, type Drive } from '../config/model.js';
import type { Daemon, JobStatus } from '../daemon/daemon.js';
import { RequestError } from '../daemon/request-error.js';
import type { JobResult } from '../job/events.js';
import { readLedger } from '../notify/ledger.js';
import { publicReason } from '../system/program-output.js';
import { repoPaths, type RepoPaths } from '../repo/layout.js';
import { deleteSnapshotDir, listSnapshots } from '../repo/snapshots.js';
import { acquireLock } from '../system/flock.js';
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
  });
}

export async function driveDicts(daemon: Pick<Daemon, 'currentConfig' | 'driveStatus'>): Promise<Record<string, Dict>> {
  const ledger = await readLedger(daemon.currentConfig.stateDir).catch(() => ({}) as Awaited<ReturnType<typeof readLedger>>);
  const out: Record<string, Dict> = {};
  for (const d of daemon.driveStatus()) {
    const record = ledger[d.name];
    out[d.name] = dict({
      Kind: ['s', d.kind],
      Present: ['b', d.present],
      Queued: ['b', d.queued],
      Overdue: ['b', d.overdue],
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
async function reachableRepo(daemon: Daemon, name: string): Promise<{ drive: Drive; paths: RepoPaths }> {
  const config = daemon.currentConfig;
  const drive = config.drives.find((d) => d.name === name);
  if (!drive) throw new RequestError(`there is no drive "${name}" (drives: ${config.drives.map((d) => d.name).join(', ') || 'none'})`);
  if (drive.kind === 'luks' && !(await mountAt(drive.mountPoint).catch(() => undefined))) {
    throw new RequestError(`drive "${name}" is not mounted: its snapshots can be read while it is being backed up, or mount it yourself (docs/getting-files-back.md)`);
  }
  return { drive, paths: repoPaths(driveRoot(drive), config.host) };
}

export async function listSnapshotsAsDicts(daemon: Daemon, name: string): Promise<Dict[]> {
  const { paths } = await reachableRepo(daemon, name);
  const listing = await listSnapshots(paths, true);
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
export async function deleteSnapshotAsRequested(daemon: Daemon, name: string, id: string, requestedBy: string): Promise<void> {
  if (daemon.jobStatus()?.drive === name) throw new RequestError(`drive "${name}" is being backed up right now; delete snapshots after the job`);
  const { paths } = await reachableRepo(daemon, name);
  const config = daemon.currentConfig;
  const lock = await acquireLock(config.backup.lockFile, { waitMs: 0 }).catch(() => {
    throw new RequestError(`the repository lock ${config.backup.lockFile} is held by another plugback job; try again later`);
  });
  try {
    const complete = (await listSnapshots(paths)).complete;
    const index = complete.findIndex((s) => s.name === id);
    if (index < 0) throw new RequestError(`drive "${name}" has no snapshot ${id} (snapshots: ${complete.map((s) => s.name).join(', ') || 'none'})`);
    if (index === complete.length - 1) throw new RequestError(`${id} is the newest snapshot of drive "${name}"; plugback never deletes the newest`);
    await deleteSnapshotDir(paths, id);
  } finally {
    await lock.release();
  }
  daemon.logRequest(name, `snapshot ${id} of drive "${name}" deleted, as requested by ${requestedBy}`);
}
