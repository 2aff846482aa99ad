// Writing a small file so that a crash leaves either the old or the new content, never half of one. The folder
// may belong to someone else (a metrics textfile folder owned by the exporter's user), so the temporary file
// gets a name nobody can predict and is created exclusively, never through a link planted in its place; the
// rename then replaces `file` itself, a link included, never what a link points at.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Writes `content` to a new temporary file beside `file`, fsyncs it, renames it over `file`, and fsyncs the folder. */
export async function writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(12).toString('hex')}.tmp`);
  const handle = await open(temp, CREATE, mode);
  try {
    await handle.writeFile(content);
    // The mode asked for, whatever the umask made of it (ledger and outbox files are root's alone).
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, file);
  await fsyncDirectory(path.dirname(file));
}

/** Makes a rename or a new entry in `dir` durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
