// Test helper: builds a metadata-rich "fidelity" tree under a folder (needs root: chown, trusted.* xattrs, mknod),
// with attr/acl tools. snapshotTree and diffTrees (tree.ts) compare what a backup made of it.
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { walk } from './tree.js';

const execFileP = promisify(execFile);

const MiB = 1024 * 1024;
/** Base of the fixed past mtimes: 2001-02-03T04:05:06Z. */
const BASE_TIME = 981173106;
/** The one name that cannot be spelled as a JS string: f\xff\xfe.t */
const INVALID_UTF8_NAME = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74]);

// Creates under `root` a tree exercising every kind of metadata a backup must preserve (needs root).
export async function buildFidelityTree(root: string): Promise<void> {
  await fs.mkdir(root, { recursive: true });
  await makeModes(root);
  await makeNames(root);
  await makeLinks(root);
  await makeOwnership(root);
  await makeXattrs(root);
  await makeAcls(root);
  await makeSparse(path.join(root, 'sparse.bin'));
  await makeSpecials(root);
  await setFixedTimes(root);
}

async function file(p: string | Buffer, content: string | Buffer, mode = 0o644): Promise<void> {
  await fs.writeFile(p, content);
  await fs.chmod(p, mode);
}

async function dir(p: string, mode = 0o755): Promise<void> {
  await fs.mkdir(p, { recursive: true });
  await fs.chmod(p, mode);
}

/** Deterministic pseudo-random bytes (xorshift32), so content is varied but reproducible. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

async function makeModes(root: string): Promise<void> {
  const d = path.join(root, 'modes');
  await dir(d);
  await file(path.join(d, 'plain-0644.txt'), 'hello, plugback\n', 0o644);
  await file(path.join(d, 'secret-0600.txt'), 'top secret\n', 0o600);
  await file(path.join(d, 'script-0755.sh'), '#!/bin/sh\necho hi\n', 0o755);
  await file(path.join(d, 'setuid-4755'), noise(1000, 7), 0o4755);
  await file(path.join(d, 'all-bytes.bin'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), 0o644);
  await file(path.join(d, 'noise-300k.bin'), noise(300 * 1024, 42), 0o644);
  await dir(path.join(d, 'sticky-1777'), 0o1777);
  await file(path.join(d, 'sticky-1777', 'inside.txt'), 'in sticky dir\n', 0o666);
}

async function makeNames(root: string): Promise<void> {
  const d = path.join(root, 'names');
  await dir(d);
  await file(path.join(d, 'with spaces in name.txt'), 'spaces\n');
  await file(path.join(d, 'new\nline'), 'newline\n');
  await file(path.join(d, '-rf'), 'leading dash\n');
  await file(path.join(d, '$(touch pwned) `id`'), 'shell metacharacters\n');
  await file(path.join(d, 'back\\slash'), 'backslash\n');
  await file(path.join(d, 'ünïcødé ✓'), 'valid utf-8\n');
  await file(Buffer.concat([Buffer.from(d + '/'), INVALID_UTF8_NAME]), 'invalid utf-8 name\n');
  // getfattr/getfacl escape these names in their output: the snapshot must still match them up.
  for (const name of ['new\nline', 'back\\slash']) {
    await execFileP('setfattr', ['-n', 'user.plugback.name', '-v', 'odd', path.join(d, name)]);
  }
}

async function makeLinks(root: string): Promise<void> {
  const d = path.join(root, 'links');
  await dir(path.join(d, 'sub'));
  await file(path.join(d, 'target.txt'), 'link target\n');
  await fs.link(path.join(d, 'target.txt'), path.join(d, 'hardlink-twin.txt'));
  await dir(path.join(d, 'one'));
  await dir(path.join(d, 'two'));
  await file(path.join(d, 'one', 'shared.bin'), noise(5000, 3));
  await fs.link(path.join(d, 'one', 'shared.bin'), path.join(d, 'two', 'shared-too.bin'));
  await fs.symlink('target.txt', path.join(d, 'relative-link'));
  await fs.symlink('does/not/exist', path.join(d, 'dangling-link'));
  await fs.symlink('sub', path.join(d, 'dir-link'));
}

async function makeOwnership(root: string): Promise<void> {
  await file(path.join(root, 'owned-12345.txt'), 'owned by nobody we know\n', 0o640);
  await fs.chown(path.join(root, 'owned-12345.txt'), 12345, 54321);
  await dir(path.join(root, 'owned-dir'), 0o750);
  await file(path.join(root, 'owned-dir', 'child.txt'), 'child of unmapped dir\n');
  await fs.chown(path.join(root, 'owned-dir'), 23456, 65432);
}

async function makeXattrs(root: string): Promise<void> {
  const f = path.join(root, 'xattrs.txt');
  await file(f, 'has xattrs\n');
  await execFileP('setfattr', ['-n', 'user.plugback.test', '-v', 'hello', f]);
  await execFileP('setfattr', ['-n', 'user.plugback.binary', '-v', '0x00ff10', f]);
  await dir(path.join(root, 'xattr-dir'));
  await execFileP('setfattr', ['-n', 'user.plugback.dir', '-v', 'on a directory', path.join(root, 'xattr-dir')]);
}

async function makeAcls(root: string): Promise<void> {
  const f = path.join(root, 'acl.txt');
  await file(f, 'has an access ACL\n');
  await execFileP('setfacl', ['-m', 'u:12345:rw', f]);
  const d = path.join(root, 'acl-default-dir');
  await dir(d);
  await execFileP('setfacl', ['-d', '-m', 'g:54321:rx', d]);
  // Created after the default ACL, so it inherits an access ACL from it.
  await fs.writeFile(path.join(d, 'inherits.txt'), 'inherited ACL\n', { mode: 0o664 });
}

// 64 MiB apparent size, 4 KiB of data at each end, a hole in between.
async function makeSparse(p: string): Promise<void> {
  const handle = await fs.open(p, 'w', 0o644);
  try {
    await handle.write(noise(4096, 11), 0, 4096, 0);
    await handle.truncate(64 * MiB);
    await handle.write(noise(4096, 13), 0, 4096, 64 * MiB - 4096);
  } finally {
    await handle.close();
  }
  await fs.chmod(p, 0o644);
}

async function makeSpecials(root: string): Promise<void> {
  await file(path.join(root, 'empty-file'), '');
  await dir(path.join(root, 'empty-dir'), 0o700);
  await execFileP('mkfifo', ['-m', '0640', path.join(root, 'fifo')]);
}

// Gives every entry a distinct fixed past mtime; directories last and deepest first.
async function setFixedTimes(root: string): Promise<void> {
  const found = await walk(root);
  const nonDirs = found.filter((f) => !f.st.isDirectory());
  const dirs = found.filter((f) => f.st.isDirectory()).reverse();
  let i = 0;
  for (const f of [...nonDirs, ...dirs]) {
    const t = BASE_TIME + 86400 * i++;
    if (f.st.isSymbolicLink()) await fs.lutimes(f.abs, t, t);
    else await fs.utimes(f.abs, t, t);
  }
}

// ---------------------------------------------------------------------------
