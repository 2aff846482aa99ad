// archive: the archive drives.<name>.archive asks for, of the snapshot this run just completed (and verified),
// still under the repository lock so nothing prunes it while tar reads it. The snapshot is safe whatever happens
// here, so a failed archive is a warning that says what to do, never a failed backup; a cancel stays a cancel.
import { stat } from 'node:fs/promises';
import { createArchive } from '../../archive/create.js';
import { resolveOwner } from '../../archive/owner.js';
import type { DriveArchive } from '../../config/model.js';
import { formatBytes } from '../../config/units.js';
import { trustedFileProblem } from '../../system/file-perms.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

/** Progress lines at most this often: an archive of a big snapshot takes long, a line a second would flood the log. */
const PROGRESS_EVERY_MS = 10_000;

export const archive: Step<BackupContext> = {
  name: 'archive',
  async run(ctx) {
    const settings = ctx.drive.archive;
    const snapshot = ctx.snapshot;
    if (!settings) {
      ctx.log.info(`no archive: drive "${ctx.drive.name}" has no archive: in the config`);
      return;
    }
    if (!snapshot) return;
    ctx.log.info({ to: settings.to, naming: settings.naming, encryption: settings.encryption.kind }, `archiving snapshot ${snapshot} into ${settings.to}`);
    let last = Date.now();
    try {
      const owner = settings.owner === undefined ? undefined : await resolveOwner(settings.owner, `drives.${ctx.drive.name}.archive.owner`);
      await refuseLooseKeyring(settings);
      const result = await createArchive({
        config: ctx.config,
        drive: ctx.drive,
        snapshot,
        to: settings.to,
        naming: settings.naming,
        compression: settings.compression,
        encryption: settings.encryption,
        owner,
        keep: settings.keep,
        signal: ctx.signal,
        onBytes: (bytes) => {
          if (Date.now() - last < PROGRESS_EVERY_MS) return;
          last = Date.now();
          ctx.log.info({ bytes }, `archive: ${formatBytes(bytes)} written`);
        },
      });
      ctx.log.info({ files: result.files, bytes: result.bytes }, `archived snapshot ${snapshot} to ${result.files.join(' and ')} (${formatBytes(result.bytes)})`);
      for (const name of result.pruned) ctx.log.info({ archive: name }, `deleted the older dated archive ${name} (archive.keep ${settings.keep ?? ''})`);
    } catch (error) {
      // Cancelled: the job says "cancelled after snapshot ... was complete", and the half-written file is gone.
      if (ctx.signal.aborted) throw error;
      ctx.warn(
        `snapshot ${snapshot} is complete, but its archive into ${settings.to} failed: ${(error as Error).message}. ` +
          `Fix that (drives.${ctx.drive.name}.archive in ${ctx.config.file}), then make it with: plugback archive ${ctx.drive.name} --snapshot ${snapshot}${archiveFlags(settings)}`,
      );
    }
  },
};

/** A keyring another user could rewrite would have the archive encrypted to their key: refused, like a loose secret. */
async function refuseLooseKeyring(settings: DriveArchive): Promise<void> {
  if (settings.encryption.kind !== 'keyring') return;
  const file = settings.encryption.file;
  // A missing file is gpg's to report, with its own words.
  const stats = await stat(file).catch(() => undefined);
  const problem = stats && trustedFileProblem(file, stats, 'the archive keyring');
  if (problem) throw new Error(problem);
}

/** The `plugback archive` options that make the same archive by hand. */
function archiveFlags(a: DriveArchive): string {
  const e = a.encryption;
  const flags = [
    `--to ${a.to}`,
    ...(a.naming === 'dated' ? [] : [`--name ${a.naming}`]),
    ...(a.compression === 'zstd' ? [] : [`--compress ${a.compression}`]),
    ...(e.kind === 'recipients' ? e.fingerprints.map((f) => `--recipient ${f}`) : []),
    ...(e.kind === 'keyring' ? [`--keyring ${e.file}`] : []),
    ...(e.kind === 'passphrase' ? [`--passphrase-file ${e.file}`] : []),
    ...(a.owner ? [`--owner ${a.owner}`] : []),
    ...(a.keep ? [`--keep ${a.keep}`] : []),
  ];
  return ` ${flags.join(' ')}`;
}
