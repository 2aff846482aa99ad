// What the daemon's and the backup unit's sandbox leaves open, from the config: the capabilities a faithful
// copy needs, and the only folders it may write (ProtectSystem=strict makes the rest read-only).
import path from 'node:path';
import type { Config } from '../config/model.js';
import { quotedWord, refuseControls } from './exec-line.js';

export const LOG_DIR = '/var/log/plugback';

/**
 * The capabilities the units keep: read and write every file (DAC_*, FOWNER), keep owners, set-id bits and
 * device nodes (CHOWN, FSETID, MKNOD), file capabilities (SETFCAP), hooks that change user (SETUID, SETGID).
 * Mounting is systemd's: no CAP_SYS_ADMIN.
 */
export function capabilities(config: Config): string[] {
  const caps = ['CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_CHOWN', 'CAP_MKNOD', 'CAP_SETFCAP', 'CAP_SETUID', 'CAP_SETGID'];
  // Only a negative nice needs the right to raise priority.
  if (config.backup.nice < 0) caps.push('CAP_SYS_NICE');
  return caps;
}

/**
 * Every folder a backup writes: state, log and lock folders, directory targets, the metrics file's and archives'
 * folders. Not the LUKS drives' mount points: systemd mounts the drive on the host and the mount propagates into
 * the sandbox writable, while listing the folder would bind it onto itself, a mount of the wrong file system
 * exactly where the drive belongs. Unmounted, the empty folder stays read-only: nothing lands beside the drive.
 */
export function writablePaths(config: Config): string[] {
  // Each with the setting it comes from, for the message when it holds what no unit file can.
  const named: [string, string][] = [
    [config.stateDir, 'stateDir'],
    [LOG_DIR, 'the log folder'],
    [path.dirname(config.backup.lockFile), 'backup.lockFile'],
  ];
  for (const drive of config.drives) {
    if (drive.kind === 'directory') named.push([drive.path, `drives.${drive.name}.path`]);
    if (drive.archive) named.push([drive.archive.to, `drives.${drive.name}.archive.to`]);
  }
  if (config.metrics.textfile) named.push([path.dirname(config.metrics.textfile), 'metrics.textfile']);
  for (const [p, what] of named) refuseControls(p, what);
  const paths = named.map(([p]) => p);
  const unique = [...new Set(paths.map((p) => path.resolve(p)))].sort();
  // A folder inside another one on the list is writable already.
  return unique.filter((p) => !unique.some((other) => other !== p && (other === '/' ? true : p.startsWith(`${other}/`))));
}

/** ReadWritePaths= of those folders, each "-" (a missing one is skipped, not a failed start), quoted as needed. */
export function readWritePathsValue(config: Config): string {
  return writablePaths(config)
    .map((p) => quotedWord(`-${p}`, 'a path the units write'))
    .join(' ');
}
