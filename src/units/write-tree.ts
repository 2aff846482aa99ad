// `plugback generate --out DIR`: the generated files laid out under DIR as they would be on the system.
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CRYPTTAB, type Generated } from './generate.js';
import { mergeCrypttab } from './crypttab.js';

/** Writes every file (and DIR/etc/crypttab with plugback's lines only); returns the paths written. */
export async function writeTree(dir: string, generated: Generated): Promise<string[]> {
  const written: string[] = [];
  const put = async (file: string, write: (target: string) => Promise<void>) => {
    const target = path.join(dir, file);
    await mkdir(path.dirname(target), { recursive: true });
    await rm(target, { force: true });
    await write(target);
    written.push(target);
  };
  for (const file of generated.files) {
    await put(file.path, (target) => ('content' in file ? writeFile(target, file.content) : symlink(file.symlinkTo, target)));
  }
  if (generated.crypttab.length > 0) await put(CRYPTTAB, (target) => writeFile(target, mergeCrypttab('', generated.crypttab)));
  return written;
}
