// checksums: records the SHA-256 of every file of the new snapshot (snapshots/<name>/checksums.gz), before it is
// completed, so `plugback check` can later prove the drive gives back the right content without the source.
// Files the previous snapshot already listed and this run did not rewrite inherit their hash; only what this run
// copied is read back from the drive.
import { buildChecksums } from '../../repo/checksums/build.js';
import { snapshotChecksumList, type ChecksumCursor } from '../../repo/checksums/list-io.js';
import type { Repository } from '../../repo/repository.js';
import { withRepository } from '../../repo/repository.js';
import { formatBytes } from '../../config/units.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

export const recordChecksums: Step<BackupContext> = {
  name: 'checksums',
  async run(ctx) {
    await withRepository(ctx.paths.root, ctx.config.host, async (repo) => {
      const dir = await repo.openSnapshot(ctx.workName as string);
      try {
        const previous = await previousList(ctx, repo);
        const result = await buildChecksums(
          dir,
          ctx.config.states.map((s) => s.name),
          previous,
        );
        if (result.previousDamage) {
          ctx.warn(`the checksum list of snapshot ${ctx.previous?.name} is damaged (${result.previousDamage}): this snapshot's files were read back and hashed in full instead`);
        }
        for (const skipped of result.skipped.slice(0, 5)) ctx.warn(`not in the checksum list: ${skipped}`);
        ctx.log.info(
          { files: result.files, hashed: result.hashed, bytesHashed: result.bytesHashed },
          `checksums of ${result.files} files recorded (${result.hashed} files, ${formatBytes(result.bytesHashed)} read back and hashed; the rest unchanged since snapshot ${ctx.previous?.name ?? '-'})`,
        );
      } finally {
        await dir.close();
      }
    });
  },
};

/** The previous snapshot's list, to inherit from; none when there is no previous snapshot or it has no list. */
async function previousList(ctx: BackupContext, repo: Repository): Promise<ChecksumCursor | undefined> {
  if (!ctx.previous) return undefined;
  return snapshotChecksumList(repo, ctx.previous.name).catch(() => undefined);
}
