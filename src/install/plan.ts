// What installing would change under a root: each generated file compared with what is there now.
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { mergeCrypttab } from '../units/crypttab.js';
import { CRYPTTAB, type Generated } from '../units/generate.js';

/** One file as it should be and as it is: text, a symlink's target, or nothing. */
export interface PlannedFile {
  /** The path on the target system (/etc/...). */
  path: string;
  purpose: string;
  want: { content: string } | { symlinkTo: string };
  have: { content: string } | { symlinkTo: string } | undefined;
}

/** Where `systemPath` lies under `root`. */
export function underRoot(root: string, systemPath: string): string {
  return path.join(root, systemPath);
}

/** Every generated file with its current state; /etc/crypttab only when plugback is to write it. */
export async function planFiles(root: string, generated: Generated, writeCrypttab: boolean): Promise<PlannedFile[]> {
  const planned = await Promise.all(
    generated.files.map(async (file): Promise<PlannedFile> => ({
      path: file.path,
      purpose: file.purpose,
      want: 'content' in file ? { content: file.content } : { symlinkTo: file.symlinkTo },
      have: await currentState(underRoot(root, file.path)),
    })),
  );
  // Also with no LUKS drive left: an earlier block of plugback's lines then goes.
  const crypttab = writeCrypttab ? await currentState(underRoot(root, CRYPTTAB)) : undefined;
  if (writeCrypttab && (generated.crypttab.length > 0 || crypttab)) {
    const have = crypttab;
    const existing = have && 'content' in have ? have.content : '';
    planned.push({ path: CRYPTTAB, purpose: 'one line per LUKS drive, so systemd can unlock it', want: { content: mergeCrypttab(existing, generated.crypttab) }, have });
  }
  return planned;
}

/** True when the file is not yet as it should be. */
export function needsChange(file: PlannedFile): boolean {
  if (!file.have) return true;
  if ('content' in file.want) return !('content' in file.have) || file.have.content !== file.want.content;
  return !('symlinkTo' in file.have) || file.have.symlinkTo !== file.want.symlinkTo;
}

/** The file's text or symlink target, or undefined when it does not exist. */
export async function currentState(file: string): Promise<PlannedFile['have']> {
  const target = await readlink(file).catch(() => undefined);
  if (target !== undefined) return { symlinkTo: target };
  const content = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return content === undefined ? undefined : { content };
}
