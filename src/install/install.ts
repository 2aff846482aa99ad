// `plugback install`: puts the generated files under a root, creates the folders and the group, and
// remembers what it did. Running it again changes only what the config changed.
import { chmod, chown, copyFile, mkdir, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../system/atomic-file.js';
import { CRYPTTAB, GROUP, LOG_DIR, type Generated } from '../units/generate.js';
import { addGroup, ensureGroupFile, groupId } from './group.js';
import { readManifest, sha256, writeManifest, type Manifest } from './manifest.js';
import { needsChange, planFiles, underRoot } from './plan.js';
import type { TimerChanges } from './reload.js';
import { reloadFor, removeInstalled, staleEntries, timerChanges } from './remove.js';

export const CRYPTTAB_BACKUP = '/etc/crypttab.plugback-backup';

export interface InstallReport {
  /** Paths (on the target system) written or replaced. */
  changed: string[];
  /** Paths an earlier install wrote that this config no longer generates, now removed. */
  removed: string[];
  /** Things done besides files: folders, the group, the crypttab backup. */
  notes: string[];
  /** Whether systemd or udev must reread their files. */
  reload: { systemd: boolean; udev: boolean };
  /** Scheduled drives' timers to start or stop once systemd has reread its files. */
  timers: TimerChanges;
}

export async function install(root: string, generated: Generated, stateDir: string, writeCrypttab: boolean): Promise<InstallReport> {
  const stateOnRoot = underRoot(root, stateDir);
  const manifest = await readManifest(stateOnRoot);
  const report: InstallReport = { changed: [], removed: [], notes: [], reload: { systemd: false, udev: false }, timers: { enable: [], stop: [] } };

  if ((await groupId(root, GROUP)) === undefined) {
    await makeDirectory(root, '/etc', 0o755, manifest);
    if (await ensureGroupFile(root)) {
      manifest.groupFile = true;
      report.notes.push(`created ${underRoot(root, '/etc/group')} (this root had no group database)`);
    }
    await addGroup(root, GROUP);
    manifest.group = true;
    report.notes.push(`created the group ${GROUP}`);
  }
  for (const dir of generated.directories) {
    if (await makeDirectory(root, dir.path, dir.mode, manifest)) report.notes.push(`created ${underRoot(root, dir.path)}`);
  }
  await shareLogDirectory(root);

  for (const file of await planFiles(root, generated, writeCrypttab)) {
    const target = underRoot(root, file.path);
    if (needsChange(file)) {
      await makeDirectory(root, path.dirname(file.path), 0o755, manifest);
      if (file.path === CRYPTTAB && file.have) {
        await copyFile(target, underRoot(root, CRYPTTAB_BACKUP));
        report.notes.push(`kept the previous ${underRoot(root, CRYPTTAB)} as ${underRoot(root, CRYPTTAB_BACKUP)}`);
      }
      if ('symlinkTo' in file.want) {
        await rm(target, { force: true });
        await symlink(file.want.symlinkTo, target);
      } else {
        const mode = file.have ? (await stat(target)).mode & 0o7777 : 0o644;
        await writeFileAtomic(target, file.want.content, mode);
      }
      report.changed.push(file.path);
      reloadFor(file.path, report.reload);
    }
    record(manifest, file.path, file.want);
  }
  // What an earlier install wrote and this config no longer generates (a drive taken out, another trigger).
  for (const entry of staleEntries(manifest, generated.files.map((f) => f.path))) {
    const result = await removeInstalled(root, entry);
    if (result === 'removed') {
      report.removed.push(entry.path);
      reloadFor(entry.path, report.reload);
    } else if (result !== 'gone') report.notes.push(`kept ${underRoot(root, result.kept)}, which this config no longer generates`);
    manifest.files = manifest.files.filter((f) => f.path !== entry.path);
    manifest.symlinks = manifest.symlinks.filter((l) => l.path !== entry.path);
  }
  await writeManifest(stateOnRoot, manifest);
  report.timers = timerChanges(report.changed, report.removed);
  return report;
}

/**
 * The log folder belongs to group plugback, set-group-ID, so the files the daemon writes there (umask 0027)
 * belong to the group too and its members can follow a backup without root.
 */
async function shareLogDirectory(root: string): Promise<void> {
  const gid = await groupId(root, GROUP);
  const logDir = underRoot(root, LOG_DIR);
  const info = await stat(logDir);
  if (gid !== undefined && process.getuid?.() === 0 && info.gid !== gid) await chown(logDir, 0, gid);
  if ((info.mode & 0o7777) !== 0o2750) await chmod(logDir, 0o2750);
}

/** Creates `dir` (and missing parents) under the root, noting each one created in the manifest. */
async function makeDirectory(root: string, dir: string, mode: number, manifest: Manifest): Promise<boolean> {
  const missing: string[] = [];
  for (let d = dir; d !== '/' && !(await exists(underRoot(root, d))); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    await mkdir(underRoot(root, d), { mode });
    if (!manifest.directories.includes(d)) manifest.directories.push(d);
  }
  return missing.length > 0;
}

/** Notes a file in the manifest; for /etc/crypttab only that plugback's block is in it (the rest is the user's). */
function record(manifest: Manifest, file: string, want: { content: string } | { symlinkTo: string }): void {
  if (file === CRYPTTAB) manifest.crypttab = true;
  else if ('symlinkTo' in want) manifest.symlinks = [...manifest.symlinks.filter((s) => s.path !== file), { path: file, target: want.symlinkTo }];
  else manifest.files = [...manifest.files.filter((f) => f.path !== file), { path: file, sha256: sha256(want.content) }];
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
