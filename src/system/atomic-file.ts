// Writing a small file so that a crash leaves either the old or the new content, never half of one. The folder
// may belong to someone else (a metrics textfile folder owned by the exporter's user), so the temporary file
// gets a name nobody can predict and is created exclusively, never through a link planted in its place; the
// rename then replaces `file` itself, a link included, never what a link points at. Every write here survives a
// power cut once the call returns: file flushed, then renamed (or linked), then its folder flushed.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Writes `content` to a new temporary file beside `file`, fsyncs it, renames it over `file`, and fsyncs the folder. */
export async function writeFileAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  const temp = await writeTemp(file, content, mode);
  await rename(temp, file);
  await fsyncDirectory(path.dirname(file));
}

/**
 * Creates `file` with `content` unless it exists (then false, and nothing changes): written and flushed under a
 * temporary name first and given its name by link(2), so after a crash the name holds all of it or is absent,
 * never an empty file.
 */
export async function writeFileOnce(file: string, content: string, mode = 0o644): Promise<boolean> {
  const temp = await writeTemp(file, content, mode);
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
  await fsyncDirectory(path.dirname(file));
  return true;
}

/** mkdir -p, with every folder it made flushed into its parent, so a file written there later survives a crash. */
export async function ensureDirDurable(dir: string, mode = 0o755): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode });
  if (first === undefined) return;
  for (let made = path.resolve(dir); ; made = path.dirname(made)) {
    await fsyncDirectory(path.dirname(made));
    if (made === path.resolve(first)) return;
  }
}

/** `content` in a new, flushed file beside `file`, under a name nobody can predict; returns that name. */
async function writeTemp(file: string, content: string, mode: number): Promise<string> {
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
  return temp;
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
