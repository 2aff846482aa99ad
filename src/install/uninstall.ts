// `plugback uninstall`: removes what the manifest says install wrote, when it is still as install wrote it.
import { copyFile, readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../system/atomic-file.js';
import { removeCrypttabBlock } from '../units/crypttab.js';
import { CRYPTTAB, GROUP } from '../units/generate.js';
import { deleteGroup, removeGroupFile } from './group.js';
import { CRYPTTAB_BACKUP } from './install.js';
import { MANIFEST_NAME, readManifest } from './manifest.js';
import { reloadFor, removeInstalled, timerChanges } from './remove.js';
import { underRoot } from './plan.js';

export interface UninstallReport {
  removed: string[];
  /** Files install wrote that were changed since: left in place, with the reason. */
  kept: string[];
  reload: { systemd: boolean; udev: boolean };
  /** Scheduled drives' timers whose files went: systemd keeps running them until they are stopped. */
  stopTimers: string[];
}

export async function uninstall(root: string, stateDir: string): Promise<UninstallReport> {
  const stateOnRoot = underRoot(root, stateDir);
  const manifest = await readManifest(stateOnRoot);
  const report: UninstallReport = { removed: [], kept: [], reload: { systemd: false, udev: false }, stopTimers: [] };
  const removed = (file: string) => {
    report.removed.push(file);
    reloadFor(file, report.reload);
  };

  for (const entry of [...manifest.files, ...manifest.symlinks]) {
    const result = await removeInstalled(root, entry);
    if (result === 'removed') removed(entry.path);
    else if (result !== 'gone') report.kept.push(result.kept);
  }
  if (manifest.crypttab) {
    const text = await readFile(underRoot(root, CRYPTTAB), 'utf8').catch(() => '');
    const without = removeCrypttabBlock(text);
    if (without !== text) {
      await copyFile(underRoot(root, CRYPTTAB), underRoot(root, CRYPTTAB_BACKUP));
      const mode = (await stat(underRoot(root, CRYPTTAB))).mode & 0o7777;
      await writeFileAtomic(underRoot(root, CRYPTTAB), without, mode);
      removed(`${CRYPTTAB} (plugback's lines; the previous file is ${underRoot(root, CRYPTTAB_BACKUP)})`);
    }
  }
  await rm(path.join(stateOnRoot, MANIFEST_NAME), { force: true });
  // Before the folders: under a root, install may have made /etc for the group database alone.
  if (manifest.group) {
    await deleteGroup(root, GROUP);
    report.removed.push(`the group ${GROUP}`);
  }
  if (manifest.groupFile && (await removeGroupFile(root))) report.removed.push('/etc/group');
  // Folders go only when empty: a drop-in folder or the state folder may hold the user's files too.
  for (const dir of [...manifest.directories].reverse()) {
    const entries = await readdir(underRoot(root, dir)).catch(() => undefined);
    if (entries === undefined) continue;
    if (entries.length > 0) {
      report.kept.push(`${dir}/ (not empty)`);
      continue;
    }
    await rmdir(underRoot(root, dir));
    report.removed.push(`${dir}/`);
  }
  report.stopTimers = timerChanges([], report.removed).stop;
  return report;
}
