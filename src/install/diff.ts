// `plugback generate --diff`: what installing would change, as unified diffs from diff(1).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { Generated } from '../units/generate.js';
import { readManifest } from './manifest.js';
import { needsChange, underRoot, type PlannedFile } from './plan.js';
import { staleEntries } from './remove.js';

/** The changes as text (empty when there are none). */
export async function describeChanges(files: PlannedFile[]): Promise<string> {
  const changed = files.filter(needsChange);
  if (changed.length === 0) return '';
  // diff(1) compares files: the old and new texts go to a private temporary folder, removed afterwards.
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'plugback-diff-'));
  try {
    const parts: string[] = [];
    for (const [i, file] of changed.entries()) {
      if ('symlinkTo' in file.want) {
        const now = file.have && 'symlinkTo' in file.have ? `-> ${file.have.symlinkTo}` : file.have ? 'a regular file' : 'missing';
        parts.push(`symlink ${file.path}: ${now}, would be -> ${file.want.symlinkTo}\n`);
        continue;
      }
      const oldFile = path.join(scratch, `${i}.old`);
      const newFile = path.join(scratch, `${i}.new`);
      await writeFile(oldFile, file.have && 'content' in file.have ? file.have.content : '');
      await writeFile(newFile, file.want.content);
      const labels = ['--label', file.have ? file.path : '/dev/null', '--label', file.path];
      const result = await execa('diff', ['-u', ...labels, oldFile, newFile], { reject: false }).catch((error: Error) => {
        throw new Error(`cannot run diff(1) to compare ${file.path}: ${error.message}; install diffutils`);
      });
      if (result.exitCode !== 0 && result.exitCode !== 1) throw new Error(`diff(1) failed on ${file.path}: ${result.stderr}`);
      parts.push(`${result.stdout}\n`);
    }
    return parts.join('');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The files an earlier install wrote that this config no longer generates, which install would remove. */
export async function describeRemovals(root: string, stateDir: string, generated: Generated): Promise<string> {
  const manifest = await readManifest(underRoot(root, stateDir));
  const stale = staleEntries(manifest, generated.files.map((f) => f.path));
  return stale.map((entry) => `would remove ${entry.path} (installed earlier, no longer generated)\n`).join('');
}
