// Taking away a file plugback installed, only while it is still exactly what plugback put there.
import { readFile, readlink, rm } from 'node:fs/promises';
import { CRYPTTAB } from '../units/generate.js';
import { scheduledTimerAt } from '../units/schedule.js';
import { sha256, type Manifest } from './manifest.js';
import { underRoot } from './plan.js';

export type InstalledEntry = Manifest['files'][number] | Manifest['symlinks'][number];

/** 'removed', 'gone' (already), or why it was kept. */
export async function removeInstalled(root: string, entry: InstalledEntry): Promise<'removed' | 'gone' | { kept: string }> {
  const file = underRoot(root, entry.path);
  if ('target' in entry) {
    const target = await readlink(file).catch(() => undefined);
    if (target === undefined) return 'gone';
    if (target !== entry.target) return { kept: `${entry.path} (now points to ${target})` };
  } else {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) return 'gone';
    if (sha256(text) !== entry.sha256) return { kept: `${entry.path} (changed since plugback installed it)` };
  }
  await rm(file);
  return 'removed';
}

/** Which running service must reread its files after `file` changed. */
export function reloadFor(file: string, reload: { systemd: boolean; udev: boolean }): void {
  if (file.startsWith('/etc/systemd/') || file === CRYPTTAB) reload.systemd = true;
  if (file.startsWith('/etc/udev/')) reload.udev = true;
}

/** The manifest's entries that the generated files no longer include (a drive taken out of the config...). */
export function staleEntries(manifest: Manifest, generatedPaths: readonly string[]): InstalledEntry[] {
  return [...manifest.files, ...manifest.symlinks].filter((entry) => !generatedPaths.includes(entry.path));
}

/** The timers to enable (written or rewritten) and to stop (taken away) after installing or uninstalling these paths. */
export function timerChanges(written: readonly string[], removed: readonly string[]): { enable: string[]; stop: string[] } {
  const units = (paths: readonly string[]) => [...new Set(paths.map(scheduledTimerAt).filter((u): u is string => u !== undefined))];
  const enable = units(written);
  return { enable, stop: units(removed).filter((u) => !enable.includes(u)) };
}
