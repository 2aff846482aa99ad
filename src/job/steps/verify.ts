// verify: reads a random sample of files back from the new snapshot and compares them with the source, so a
// drive that writes garbage is noticed now rather than on the day of a restore. A file the source changed
// after the copy began is not counted as a mismatch: it is simply newer.
import { sha256File as sha256 } from '../../system/file-hash.js';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { withRepository } from '../../repo/repository.js';
import type { BackupContext } from '../context.js';
import type { Step } from '../runner.js';

/** The hard cap on directory reads per sampled file, so a deep or empty tree cannot make verify slow. */
const MAX_STEPS = 64;

export const verify: Step<BackupContext> = {
  name: 'verify',
  async run(ctx) {
    const wanted = ctx.config.backup.verifySample;
    if (wanted === 0 || !ctx.snapshot) return;
    const snapshot = ctx.snapshot;
    const mismatches: string[] = [];
    let checked = 0;
    for (const state of ctx.config.states) {
      // Read through the state folder this process opened and checked (no link on the drive is followed to it).
      const stateDir = await withRepository(ctx.paths.root, ctx.config.host, (repo) => repo.openInSnapshot(snapshot, state.name, '/'));
      if (!stateDir) continue;
      try {
        for (const file of await sampleFiles(stateDir.pinned, Math.ceil(wanted / ctx.config.states.length))) {
          // The snapshot holds <state>/<absolute source path>: the part after the state is the source path.
          const source = `/${path.relative(stateDir.pinned, file)}`;
          const sourceInfo = await lstat(source).catch(() => undefined);
          if (!sourceInfo?.isFile() || sourceInfo.mtimeMs >= ctx.startedAt.getTime()) continue;
          checked++;
          if ((await sha256(file)) !== (await sha256(source))) mismatches.push(source);
        }
      } finally {
        await stateDir.close();
      }
    }
    ctx.log.info({ checked, mismatches: mismatches.length }, `verified ${checked} sampled files against the source`);
    if (mismatches.length > 0) {
      throw new Error(
        `snapshot ${ctx.snapshot} is complete, but ${mismatches.length} of ${checked} sampled files read back differently from the ` +
          `source (${mismatches.slice(0, 5).join(', ')}): the drive may be failing; check it (smartctl -a, fsck) before trusting it`,
      );
    }
  },
};

/** Up to `count` distinct regular files under `root`, each found by a random walk down the tree. */
export async function sampleFiles(root: string, count: number): Promise<string[]> {
  const found = new Set<string>();
  for (let attempt = 0; attempt < count * 4 && found.size < count; attempt++) {
    let dir = root;
    for (let step = 0; step < MAX_STEPS; step++) {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      const usable = entries.filter((e) => e.isFile() || e.isDirectory());
      const pick = usable[Math.floor(Math.random() * usable.length)];
      if (!pick) break;
      const next = path.join(dir, pick.name);
      if (pick.isFile()) {
        found.add(next);
        break;
      }
      dir = next;
    }
  }
  return [...found];
}

