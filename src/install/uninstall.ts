// `plugback uninstall`: removes what the manifest says install wrote, when it is still as install wrote it.
import { copyFile, readdir, readFile, readlink, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../system/atomic-file.js';
import { removeCrypttabBlock } from '../units/crypttab.js';
import { CRYPTTAB, GROUP } from '../units/generate.js';
import { deleteGroup } from './group.js';
import { CRYPTTAB_BACKUP } from './install.js';
import { MANIFEST_NAME, readManifest, sha256 } from './manifest.js';
import { underRoot } from './plan.js';

export interface UninstallReport {
  removed: string[];
  /** Files install wrote that were changed since: left in place, with the reason. */
  kept: string[];
  reload: { systemd: boolean; udev: boolean };
}

export async function uninstall(root: string, stateDir: string): Promise<UninstallReport> {
  const stateOnRoot = underRoot(root, stateDir);
  const manifest = await readManifest(stateOnRoot);
  const report: UninstallReport = { removed: [], kept: [], reload: { systemd: false, udev: false } };
  const removed = (file: string) => {
    report.removed.push(file);
    if (file.startsWith('/etc/systemd/') || file === CRYPTTAB) report.reload.systemd = true;
    if (file.startsWith('/etc/udev/')) report.reload.udev = true;
  };

  for (const file of manifest.files) {
    const text = await readFile(underRoot(root, file.path), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    if (sha256(text) !== file.sha256) {
      report.kept.push(`${file.path} (changed since plugback installed it)`);
      continue;
    }
    await rm(underRoot(root, file.path));
    removed(file.path);
  }
  for (const link of manifest.symlinks) {
    const target = await readlink(underRoot(root, link.path)).catch(() => undefined);
    if (target === undefined) continue;
    if (target !== link.target) {
      report.kept.push(`${link.path} (now points to ${target})`);
      continue;
    }
    await rm(underRoot(root, link.path));
    removed(link.path);
  }
  if (manifest.crypttab) {
    const text = await readFile(underRoot(root, CRYPTTAB), 'utf8').catch(() => '');
    const without = removeCrypttabBlock(text);
    if (without !== text) {
      await copyFile(underRoot(root, CRYPTTAB), underRoot(root, CRYPTTAB_BACKUP));
      await writeFileAtomic(underRoot(root, CRYPTTAB), without);
      removed(`${CRYPTTAB} (plugback's lines; the previous file is ${CRYPTTAB_BACKUP})`);
    }
  }
  await rm(path.join(stateOnRoot, MANIFEST_NAME), { force: true });
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
  if (manifest.group) {
    await deleteGroup(root, GROUP);
    report.removed.push(`the group ${GROUP}`);
  }
  return report;
}
