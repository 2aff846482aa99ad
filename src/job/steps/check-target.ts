// check-target: the drive is really there and really the drive the config means, this installation owns its host
// folder, and the repository is opened (every folder checked: no links, no other file system). Runs under the lock,
// so the snapshot name it picks cannot be taken by a second run in the same second.
import { setTimeout as sleep } from 'node:timers/promises';
import { recallSnapshot } from '../../repo/host-memory.js';
import { checkOwner, installationId } from '../../repo/installation.js';
import { INCOMPLETE_SUFFIX, snapshotName } from '../../repo/layout.js';
import { newestSnapshot, type Repository } from '../../repo/repository.js';
import { openVerifiedRepository } from '../../repo/verify-drive.js';
import { probeFsFeatures } from '../../system/fs-features.js';
import { mountAt } from '../../system/mounts.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const checkTarget: Step<BackupContext> = {
  name: 'check-target',
  async run(ctx) {
    await refuseReadOnly(ctx);
    const { repo, identity } = await openVerifiedRepository(ctx.config, ctx.drive);
    try {
      ctx.identity = identity;
      await openForWriting(ctx, repo);
      await readHistory(ctx, repo);
      ctx.snapshotName = await freeSnapshotName(repo);
      await startRunLog(ctx, repo, ctx.snapshotName);
    } finally {
      await repo.close();
    }
    ctx.log.info(
      { target: ctx.paths.root, previous: ctx.previous?.name, snapshot: ctx.snapshotName },
      `drive "${ctx.drive.name}" checked: ${ctx.previous ? `previous snapshot ${ctx.previous.name}` : 'first snapshot'}`,
    );
  },
};

/** A drive someone opened read-only (`plugback open`) is theirs until `plugback close`: never written to. */
async function refuseReadOnly(ctx: BackupContext): Promise<void> {
  if (ctx.drive.kind !== 'luks') return;
  const mount = await mountAt(ctx.drive.mountPoint).catch(() => undefined);
  if (mount?.readOnly) {
    throw new Error(`drive "${ctx.drive.name}" is mounted read-only at ${ctx.drive.mountPoint} (opened with "plugback open"?): nothing is written to it; "plugback close ${ctx.drive.name}" closes it, and the next plug-in backs it up`);
  }
}

/** Creates the host's folders, claims or checks the host folder's owner, and probes what the file system keeps. */
async function openForWriting(ctx: BackupContext, repo: Repository): Promise<void> {
  try {
    await repo.createFolders();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!code) throw error; // a refusal (a link, another file system) says what it is itself
    throw new Error(
      `cannot write to drive "${ctx.drive.name}" at ${ctx.paths.root} (${code}): is it mounted read-only, full, or owned by another user?`,
    );
  }
  ctx.installation = await installationId(ctx.config.stateDir);
  const host = repo.host;
  const snapshots = repo.snapshots;
  if (!host || !snapshots) throw new Error(`internal error: ${ctx.paths.host} was not opened`);
  const owner = await checkOwner(host, { installation: ctx.installation, host: ctx.config.host, drive: ctx.drive.name, configFile: ctx.config.file });
  if (owner === 'claimed') ctx.log.info(`${ctx.paths.host} now belongs to this installation (${ctx.installation})`);
  ctx.features = await probeFsFeatures(snapshots);
  for (const note of ctx.features.notes) ctx.warn(note);
}

/** The snapshots so far, the newest by this machine's own memory, and what on the drive does not add up. */
async function readHistory(ctx: BackupContext, repo: Repository): Promise<void> {
  const recalled = await recallSnapshot(ctx.config.stateDir, ctx.drive.name);
  if (recalled.problem) ctx.warn(`cannot read this machine's record of drive "${ctx.drive.name}" (${recalled.problem}); the checks use what the drive says, and nothing is pruned`);
  ctx.memory = recalled.memory;
  ctx.memoryUnreadable = recalled.problem !== undefined;
  // Only the previous snapshot's record is read: reading every one cost about 2 ms a snapshot before rsync could start.
  const listing = await repo.list();
  for (const name of listing.strange) {
    ctx.warn(`${repo.paths.snapshots}/${name} is named like a snapshot but is not a directory (a link or a file); it is left alone and never used`);
  }
  for (const s of listing.complete.filter((e) => e.future)) {
    ctx.warn(
      `snapshot ${s.name} is dated after now (the clock was ahead when it was made?): it is never taken as the newest and never pruned; ` +
        `if it is not needed, delete it by hand (rm -rf ${s.dir})`,
    );
  }
  ctx.previous = newestSnapshot(listing, ctx.memory?.snapshot);
  if (ctx.previous) Object.assign(ctx.previous, await repo.readRecord(ctx.previous.name));
  if (ctx.previous?.recordProblem) ctx.warn(`the record of snapshot ${ctx.previous.name} cannot be used: ${ctx.previous.recordProblem}`);
}

/** The run's start time as a snapshot name; if a snapshot of that second exists, the next second. */
async function freeSnapshotName(repo: Repository): Promise<string> {
  for (;;) {
    const name = snapshotName(new Date());
    const taken = await Promise.all([name, `${name}${INCOMPLETE_SUFFIX}`].map((n) => repo.snapshots?.lstat(n)));
    if (!taken.some(Boolean)) return name;
    await sleep(1000 - (Date.now() % 1000) + 5);
  }
}

/** The run's log file on the drive: a new file (never an existing one, never through a link). */
async function startRunLog(ctx: BackupContext, repo: Repository, name: string): Promise<void> {
  const logs = await repo.logs();
  try {
    let file = `${name}.log`;
    let fd: number;
    try {
      fd = logs.createFileSync(file, 0o640);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const found = await logs.lstat(file);
      const own = `${name}-${ctx.jobId.slice(0, 8)}.log`;
      // A plain file is what an earlier run of this same second leaves (one that failed before it made a
      // snapshot, so this run got the same name): expected, and never opened. Anything else was planted.
      if (found?.isFile()) ctx.log.info(`${logs.show(file)} is an earlier run's log of this second; this run's log is ${own}`);
      else ctx.warn(`${logs.show(file)} already exists (it was not made by this run); the log goes to a new file beside it`);
      file = own;
      fd = logs.createFileSync(file, 0o640);
    }
    ctx.runLog.attachFile(fd, logs.show(file));
  } finally {
    await logs.close();
  }
}
