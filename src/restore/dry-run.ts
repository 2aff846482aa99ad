// `restore --dry-run`: what a restore would create, change and delete, from rsync's itemized dry run.
import { execa } from 'execa';
import type { Config } from '../config/model.js';
import { childEnvironment } from '../system/child-env.js';
import type { RestoreItem } from './plan.js';

export interface ItemChanges {
  item: RestoreItem;
  created: string[];
  changed: string[];
  deleted: string[];
}

/** Asks rsync (with -n, so it changes nothing) how the destination differs from the snapshot. */
export async function previewItem(config: Config, item: RestoreItem): Promise<ItemChanges> {
  // The same metadata as the restore copies (-A -X), or a changed ACL or xattr would go unreported.
  const args = ['-n', '-aHSAX', '--numeric-ids', '--delete', '--checksum', '--itemize-changes', '--out-format=%i %n'];
  // Excluded files were never backed up: not "to delete" (the default restore keeps them in the set-aside copy).
  args.push(...item.excludes.map((p) => `--exclude=${p}`));
  args.push('--', item.isDirectory ? `${item.from}/` : item.from, item.isDirectory ? `${item.to}/` : item.to);
  const result = await execa('rsync', args, { reject: false, stdin: 'ignore', env: childEnvironment(config), extendEnv: false });
  if (result.exitCode !== 0 && result.exitCode !== 24) {
    throw new Error(`rsync could not compare ${item.to} with the snapshot (exit ${result.exitCode}): ${result.stderr.trim()}`);
  }
  return { item, ...parseItemized(result.stdout) };
}

/** Sorts rsync's `%i %n` lines ("*deleting   x", ">f+++++++++ x", ">f.st...... x") into what they mean. */
export function parseItemized(stdout: string): { created: string[]; changed: string[]; deleted: string[] } {
  const created: string[] = [];
  const changed: string[] = [];
  const deleted: string[] = [];
  for (const line of stdout.split('\n')) {
    // Only itemized lines: rsync also prints notes such as "created directory DEST".
    if (!/^(\*deleting|[<>ch.][fdLDS])/.test(line) || line.length < 13) continue;
    const code = line.slice(0, 11);
    const name = line.slice(12);
    if (name === './') continue;
    if (code.startsWith('*deleting')) deleted.push(name);
    else if (code.slice(2).startsWith('+++++++++')) created.push(name);
    else if (/[^.\s]/.test(code.slice(2))) changed.push(name);
  }
  return { created, changed, deleted };
}
