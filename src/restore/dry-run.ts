// `restore --dry-run`: what a restore would create, change and delete, from rsync's itemized dry run.
import { execa } from 'execa';
import type { Config } from '../config/model.js';
import { childEnvironment } from '../system/child-env.js';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RestoreItem } from './plan.js';

export interface ItemChanges {
  item: RestoreItem;
  created: string[];
  changed: string[];
  deleted: string[];
  /** The size of every file the restore copies (all of them: the current data is set aside, not reused). */
  totalBytes: number;
  /** What rsync would send into the current data in place (--no-keep). */
  transferBytes: number;
}

/**
 * Asks rsync (with -n, so it changes nothing) how the destination differs from the snapshot. A destination that
 * does not exist yet is compared with an empty temporary folder: everything is "to create".
 */
export async function previewItem(config: Config, item: RestoreItem, options: { checksum?: boolean } = {}): Promise<ItemChanges> {
  const missing = !(await lstat(item.to).then(() => true, () => false));
  const empty = missing ? await mkdtemp(path.join(os.tmpdir(), 'plugback-dry-run-')) : undefined;
  try {
    const to = empty ? path.join(empty, item.isDirectory ? 'new' : path.basename(item.to)) : item.to;
    // The same metadata as the restore copies (-A -X), or a changed ACL or xattr would go unreported.
    // Without --checksum (only for the space check of `restore --yes`), files of the same size and time count as equal.
    const args = ['-n', '-aHSAX', '--numeric-ids', '--delete', ...(options.checksum === false ? [] : ['--checksum']), '--itemize-changes', '--out-format=%i %n', '--stats', '--no-human-readable'];
    // Excluded files were never backed up: not "to delete" (the default restore keeps them in the set-aside copy).
    args.push(...item.excludes.map((p) => `--exclude=${p}`));
    args.push('--', item.isDirectory ? `${item.source.from}/` : item.source.from, item.isDirectory ? `${to}/` : to);
    const result = await execa('rsync', args, { reject: false, stdin: 'ignore', env: childEnvironment(config), extendEnv: false });
    if (result.exitCode !== 0 && result.exitCode !== 24) {
      const said = result.stderr.replaceAll(item.source.from, item.shownFrom).trim().split('\n').slice(-3).join(' | ');
      throw new Error(
        `the dry run could not compare ${item.to} with ${item.shownFrom} (rsync exit ${result.exitCode ?? 'none'}: ${said || 'no message'}); ` +
          'nothing was changed: check that both are readable, or restore with --to DIR into a new folder',
      );
    }
    return { item, ...parseItemized(result.stdout), totalBytes: statBytes(result.stdout, 'Total file size'), transferBytes: statBytes(result.stdout, 'Total transferred file size') };
  } finally {
    if (empty) await rm(empty, { recursive: true, force: true });
  }
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

/** A byte count from rsync's --stats ("Total file size: 1234 bytes"); 0 when it is not there. */
export function statBytes(stdout: string, label: string): number {
  const m = new RegExp(`^${label}: ([\\d,.]+) bytes`, 'm').exec(stdout);
  return m ? Number(m[1]!.replace(/[^\d]/g, '')) : 0;
}
