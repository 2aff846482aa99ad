// The one way onto a drive. A drive (and a directory target a user owns) is input from outside: anything on it
// may be a planted link. So every read, write, rename and delete under <drive>/plugback/ goes through a DriveDir,
// an open directory handle that was checked to be a real directory on the drive's own file system. Names are
// looked up one component at a time through /proc/self/fd/<fd>/<name> (the kernel's openat(2) in path form:
// the directory is the inode we opened, whatever was renamed or linked since), never following a final link,
// and never crossing into another file system. New files are created with O_CREAT|O_EXCL|O_NOFOLLOW, and
// temporary ones get names nobody can predict.
import { randomBytes } from 'node:crypto';
import { constants, openSync } from 'node:fs';
import { lstat, open, opendir, readlink, rename, rmdir, symlink, unlink, mkdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Stats } from 'node:fs';
import { mountIdOf } from '../system/mount-id.js';

const { O_RDONLY, O_WRONLY, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_CREAT, O_EXCL, O_NONBLOCK } = constants;

/** The inode number of every btrfs subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
export const SUBVOLUME_ROOT_INODE = 256;

/** The phrase every refusal carries, so people (and tests, and the mail) recognise it. */
export const NEVER_FOLLOWS = 'plugback never follows links on a drive';

/** Something on the drive is not the plain directory or file plugback expects there. */
export class UnsafeDriveEntry extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnsafeDriveEntry';
  }
}

export type EntryKind = 'dir' | 'file' | 'link' | 'other';

export interface DirEntry {
  name: string;
  kind: EntryKind;
}

/** A name inside one directory: no separators, no dot entries, nothing the kernel would read as a path. */
function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new Error(`internal error: "${name}" is not a single file name`);
  }
}

/** A random, unguessable name for a temporary entry beside `name`. */
export function temporaryName(name: string): string {
  return `.${name}.${randomBytes(12).toString('hex')}.tmp`;
}

export class DriveDir {
  private closed = false;

  private constructor(
    /** The path people read in messages (never used to reach the directory). */
    readonly path: string,
    private readonly handle: FileHandle,
    /** The device of this directory's file system (on btrfs: of its subvolume). */
    readonly dev: number,
    /** The mount the drive was opened through: nothing below may be reached through another. */
    private readonly mount: number,
  ) {}

  /** Opens the drive's root: the configured path (root's config, so links in it are followed), as a directory. */
  static async openRoot(root: string): Promise<DriveDir> {
    const handle = await open(root, O_RDONLY | O_DIRECTORY);
    try {
      return new DriveDir(root, handle, (await handle.stat()).dev, await mountIdOf(handle.fd));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** This directory as a path that the kernel resolves to the opened inode, for this process and its children. */
  get pinned(): string {
    return `/proc/${process.pid}/fd/${this.handle.fd}`;
  }

  /** `name` inside this directory, reached through the handle. */
  at(name: string): string {
    checkName(name);
    return `${this.pinned}/${name}`;
  }

  /** `name` inside this directory as people read it. */
  show(name: string): string {
    return path.join(this.path, name);
  }

  /** A subdirectory, checked; undefined when there is none. Throws UnsafeDriveEntry for a link, a file, another fs. */
  async openDir(name: string): Promise<DriveDir | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.at(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw await this.refusal(name, code, 'a directory');
    }
    try {
      const st = await handle.stat();
      if (st.dev !== this.dev && !(await this.isSubvolumeHere(handle, st))) {
        throw new UnsafeDriveEntry(
          this.show(name),
          `${this.show(name)} is on another file system than the drive (something is mounted there); ${NEVER_FOLLOWS} or leaves its file system: unmount it first`,
        );
      }
      return new DriveDir(this.show(name), handle, st.dev, this.mount);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** A subdirectory that must be there. */
  async requireDir(name: string): Promise<DriveDir> {
    const dir = await this.openDir(name);
    if (!dir) throw new UnsafeDriveEntry(this.show(name), `${this.show(name)} is missing`);
    return dir;
  }

  /** A subdirectory, created (with `mode`) when missing; a new one is flushed into this directory (a power cut). */
  async ensureDir(name: string, mode = 0o755): Promise<DriveDir> {
    try {
      await mkdir(this.at(name), mode);
      await this.sync();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return this.requireDir(name);
  }

  /** The entries, with their kind as the directory records it (a link is a link, never what it points at). */
  async entries(): Promise<DirEntry[]> {
    const dir = await opendir(this.pinned);
    const out: DirEntry[] = [];
    for await (const e of dir) {
      out.push({ name: e.name, kind: e.isSymbolicLink() ? 'link' : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other' });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** lstat of an entry (a link is reported as a link); undefined when there is none. */
  async lstat(name: string): Promise<Stats | undefined> {
    return lstat(this.at(name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
  }

  /** A regular file's text, at most `maxBytes`; undefined when there is none. Refuses links, FIFOs, devices. */
  async readFile(name: string, maxBytes: number): Promise<string | undefined> {
    let handle: FileHandle;
    try {
      // O_NONBLOCK: a planted FIFO must not hang the job; it is refused below as "not a regular file".
      handle = await open(this.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw await this.refusal(name, code, 'a file');
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) {
        const shown = this.show(name);
        throw new UnsafeDriveEntry(shown, `${shown} is not a regular file (a directory, FIFO or device); move it away (mv ${shown} ${shown}.old)`);
      }
      if (st.size > maxBytes) throw new UnsafeDriveEntry(this.show(name), `${this.show(name)} is ${st.size} bytes, more than such a file can be (${maxBytes})`);
      const buffer = Buffer.alloc(maxBytes + 1);
      const { bytesRead } = await handle.read(buffer, 0, maxBytes + 1, 0);
      if (bytesRead > maxBytes) throw new UnsafeDriveEntry(this.show(name), `${this.show(name)} grew past ${maxBytes} bytes while being read`);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  }

  /** Creates a new file; fails if anything (a file, a link) already has that name. */
  async createFile(name: string, mode = 0o600): Promise<FileHandle> {
    return open(this.at(name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  }

  /** createFile for writers that write synchronously (the run log); returns the descriptor, which the caller closes. */
  createFileSync(name: string, mode = 0o600): number {
    return openSync(this.at(name), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  }

  /** Writes a small file so that a crash leaves the old or the new content: new file, fsync, rename, fsync dir. */
  async writeAtomic(name: string, content: string, mode = 0o644): Promise<void> {
    const temp = temporaryName(name);
    const handle = await this.createFile(temp, mode);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(this.at(temp)).catch(() => undefined);
      throw error;
    }
    await handle.close();
    await rename(this.at(temp), this.at(name));
    await this.sync();
  }

  /** Renames an entry, within this directory or into `to` (another DriveDir on the same drive). */
  async rename(from: string, toName: string, to: DriveDir = this): Promise<void> {
    await rename(this.at(from), to.at(toName));
  }

  /** Points symlink `name` at `target` (text, never resolved here), replacing the old one in one rename. */
  async replaceSymlink(name: string, target: string): Promise<void> {
    const temp = temporaryName(name);
    await symlink(target, this.at(temp));
    try {
      await rename(this.at(temp), this.at(name));
    } catch (error) {
      await unlink(this.at(temp)).catch(() => undefined);
      throw error;
    }
    await this.sync();
  }

  /** A link's text (never followed); undefined when `name` is missing or not a link. */
  async readLink(name: string): Promise<string | undefined> {
    return readlink(this.at(name)).catch(() => undefined);
  }

  /** Removes an entry that is not a directory (a file or a link itself, never what it points at). */
  async unlink(name: string): Promise<void> {
    await unlink(this.at(name));
  }

  /**
   * Deletes an entry and everything below it, without following any link and without leaving the drive's file
   * system (GNU rm walks with openat and never follows; --one-file-system stops at mounts). A link is removed itself.
   */
  async removeTree(name: string): Promise<void> {
    const st = await this.lstat(name);
    if (!st) return;
    if (!st.isDirectory()) return this.unlink(name);
    const { execa } = await import('execa');
    const result = await execa('rm', ['-rf', '--one-file-system', '--', this.at(name)], { reject: false, stdin: 'ignore' });
    if (result.exitCode !== 0) {
      const said = result.stderr.replaceAll(this.pinned, this.path).trim().split('\n').slice(-3).join(' | ');
      throw new Error(`could not delete ${this.show(name)}: ${said || `rm exited with ${result.exitCode}`}`);
    }
  }

  /** Removes an empty directory. */
  async rmdir(name: string): Promise<void> {
    await rmdir(this.at(name));
  }

  /** Makes renames and new entries in this directory durable. */
  async sync(): Promise<void> {
    await this.handle.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  /** A btrfs subvolume of the drive's own file system: its own device number, but the same mount (no mount on top). */
  private async isSubvolumeHere(handle: FileHandle, st: Stats): Promise<boolean> {
    return st.ino === SUBVOLUME_ROOT_INODE && (await mountIdOf(handle.fd)) === this.mount;
  }

  /** The refusal for an entry that could not be opened as `expected`, saying what is there instead. */
  private async refusal(name: string, code: string | undefined, expected: string): Promise<Error> {
    const shown = this.show(name);
    // O_NOFOLLOW|O_DIRECTORY on a link gives ENOTDIR, not ELOOP: look at what is there to say which.
    const st = await lstat(this.at(name)).catch(() => undefined);
    if (code === 'ELOOP' || st?.isSymbolicLink()) {
      return new UnsafeDriveEntry(
        shown,
        `${shown} is a symbolic link where ${expected} belongs; ${NEVER_FOLLOWS}. If you did not make it, someone who had ` +
          `the drive did: see where it points (ls -l ${shown}), then remove the link (rm ${shown})`,
      );
    }
    if (code === 'ENOTDIR') return new UnsafeDriveEntry(shown, `${shown} is not a directory; move it away (mv ${shown} ${shown}.old)`);
    if (code === 'EISDIR') return new UnsafeDriveEntry(shown, `${shown} is a directory where a file belongs; move it away (mv ${shown} ${shown}.old)`);
    if (code === 'EACCES' || code === 'EPERM') return new UnsafeDriveEntry(shown, `${shown} cannot be opened (${code}): check its owner and mode`);
    return new UnsafeDriveEntry(shown, `${shown} cannot be opened (${code ?? 'unknown error'})`);
  }
}
