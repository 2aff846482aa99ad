// Test helpers: build a metadata-rich "fidelity" tree, snapshot any tree's metadata, diff two snapshots.
// Everything here works on real files and needs root (chown, trusted.* xattrs) plus attr/acl tools.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'other';

export interface TreeEntry {
  /** Relative path ('.' for the root); backslash, control and non-UTF-8 bytes escaped as `\\` / `\xHH`. */
  path: string;
  type: EntryType;
  /** st_mode & 0o7777 */
  mode: number;
  uid: number;
  gid: number;
  /** Byte size for files and symlinks; 0 for dirs and specials (dir sizes are filesystem noise). */
  size: number;
  /** mtime in ms, truncated to whole seconds. */
  mtimeMs: number;
  sha256?: string;
  linkTarget?: string;
  /** Path of the first entry (in sort order) sharing this inode, when several paths in the tree do. */
  hardLinkGroup?: string;
  /** user.* and trusted.* xattrs: name -> hex value (no 0x prefix). */
  xattrs: Record<string, string>;
  /** getfacl body (access + default ACL), one entry per line; '' for symlinks. */
  acl: string;
  /** st_blocks, regular files only. */
  allocatedBlocks?: number;
}

export interface DiffOptions {
  ignoreMtimeFor?: (p: string) => boolean;
  ignoreRootMtime?: boolean;
}

// ---------------------------------------------------------------------------
// Fidelity tree
// ---------------------------------------------------------------------------

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
// Snapshot
// ---------------------------------------------------------------------------

interface Found {
  /** Relative path bytes; '.' for the root. */
  rel: Buffer;
  abs: Buffer;
  st: Stats;
}

const SLASH = Buffer.from('/');
const DOT = Buffer.from('.');

/** Sorts by relative path bytes, with the root pinned first. */
function compareRel(a: Buffer, b: Buffer): number {
  if (a.equals(DOT) || b.equals(DOT)) return Number(b.equals(DOT)) - Number(a.equals(DOT));
  return Buffer.compare(a, b);
}

/** lstat-walks root with Buffer paths (never following symlinks). */
async function walk(root: string): Promise<Found[]> {
  const rootBuf = Buffer.from(root);
  const out: Found[] = [];
  const visit = async (rel: Buffer | undefined): Promise<void> => {
    const abs = rel ? Buffer.concat([rootBuf, SLASH, rel]) : rootBuf;
    const st = await fs.lstat(abs);
    out.push({ rel: rel ?? DOT, abs, st });
    if (!st.isDirectory()) return;
    for (const name of await fs.readdir(abs, { encoding: 'buffer' })) {
      await visit(rel ? Buffer.concat([rel, SLASH, name]) : name);
    }
  };
  await visit(undefined);
  return out.sort((a, b) => compareRel(a.rel, b.rel));
}

// Records metadata of every entry under root (root itself as '.'), sorted by relative path bytes.
export async function snapshotTree(root: string): Promise<TreeEntry[]> {
  const found = await walk(root);
  const xattrDump = parseDump(await runTool('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '.'], root));
  const aclDump = parseDump(await runTool('getfacl', ['-R', '-P', '-n', '.'], root));
  const groups = hardLinkGroups(found);
  const entries: TreeEntry[] = [];
  for (const f of found) {
    const key = f.rel.toString('latin1');
    entries.push(await describeEntry(f, groups.get(key), parseXattrs(xattrDump.get(key) ?? []), (aclDump.get(key) ?? []).join('\n')));
  }
  return entries;
}

async function describeEntry(f: Found, hardLinkGroup: string | undefined, xattrs: Record<string, string>, acl: string): Promise<TreeEntry> {
  const type = typeOf(f.st);
  const entry: TreeEntry = {
    path: renderPath(f.rel),
    type,
    mode: f.st.mode & 0o7777,
    uid: f.st.uid,
    gid: f.st.gid,
    size: type === 'file' || type === 'symlink' ? f.st.size : 0,
    mtimeMs: Math.floor(f.st.mtimeMs / 1000) * 1000,
    xattrs,
    acl: type === 'symlink' ? '' : acl,
  };
  if (type === 'file') {
    entry.sha256 = await sha256(f.abs);
    entry.allocatedBlocks = f.st.blocks;
  }
  if (type === 'symlink') entry.linkTarget = renderPath(await fs.readlink(f.abs, { encoding: 'buffer' }));
  if (hardLinkGroup !== undefined) entry.hardLinkGroup = hardLinkGroup;
  return entry;
}

function typeOf(st: Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

/**
 * Labels files whose inode is shared by several paths *within this tree* with the first such path.
 * (Counting nlink alone would flag snapshot files hard-linked to a previous snapshot.)
 */
function hardLinkGroups(found: Found[]): Map<string, string> {
  const byInode = new Map<string, Found[]>();
  for (const f of found) {
    if (!f.st.isFile() || f.st.nlink < 2) continue;
    const id = `${f.st.dev}:${f.st.ino}`;
    byInode.set(id, [...(byInode.get(id) ?? []), f]);
  }
  const labels = new Map<string, string>();
  for (const members of byInode.values()) {
    const first = members[0];
    if (members.length < 2 || first === undefined) continue;
    for (const m of members) labels.set(m.rel.toString('latin1'), renderPath(first.rel));
  }
  return labels;
}

async function sha256(p: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(p)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// Renders path bytes as a string: valid UTF-8 kept, `\` doubled, control and invalid bytes as \xHH.
export function renderPath(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const [text, length] = renderAt(bytes, i);
    out += text;
    i += length;
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function renderAt(bytes: Buffer, i: number): [string, number] {
  const byte = bytes[i] ?? 0;
  const hex = `\\x${byte.toString(16).padStart(2, '0')}`;
  if (byte === 0x5c) return ['\\\\', 1];
  if (byte < 0x20 || byte === 0x7f) return [hex, 1];
  if (byte < 0x80) return [String.fromCharCode(byte), 1];
  for (let length = 2; length <= 4; length++) {
    try {
      return [strictUtf8.decode(bytes.subarray(i, i + length)), length];
    } catch {
      // incomplete or invalid sequence at this length: try the next one
    }
  }
  return [hex, 1];
}

/** Runs an attr/acl tool without a shell, in the C locale, returning raw stdout bytes. */
async function runTool(cmd: string, args: string[], cwd: string): Promise<Buffer> {
  const { stdout } = await execFileP(cmd, args, {
    cwd,
    encoding: 'buffer',
    maxBuffer: 256 * MiB,
    env: { ...process.env, LC_ALL: 'C' },
  });
  return stdout;
}

/**
 * Splits recursive getfattr/getfacl output into per-path body lines ("# ..." header lines dropped).
 * Keys are the unescaped path bytes as a latin1 string; both tools escape "\n" and "\" in names
 * (getfattr as \012 / \134, getfacl as \012 / \\) but print other bytes, even invalid UTF-8, raw.
 */
function parseDump(out: Buffer): Map<string, string[]> {
  const records = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of out.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      current = [];
      records.set(normalizeDumpPath(unescapeTool(line.slice('# file: '.length))), current);
    } else if (line !== '' && !line.startsWith('# ')) {
      current.push(line);
    }
  }
  return records;
}

function unescapeTool(s: string): string {
  return s.replace(/\\(\\|[0-7]{3})/g, (_, m: string) => (m === '\\' ? '\\' : String.fromCharCode(parseInt(m, 8))));
}

function normalizeDumpPath(p: string): string {
  return p.startsWith('./') ? p.slice(2) : p;
}

/** Parses "name=0xHEX" lines, keeping user.* and trusted.* (system.* ACLs are compared via getfacl). */
function parseXattrs(lines: string[]): Record<string, string> {
  const xattrs: Record<string, string> = {};
  for (const line of lines) {
    const eq = line.indexOf('=');
    const name = unescapeTool(eq < 0 ? line : line.slice(0, eq));
    const value = eq < 0 ? '' : line.slice(eq + 1).replace(/^0x/, '');
    if (name.startsWith('user.') || name.startsWith('trusted.')) xattrs[name] = value;
  }
  return xattrs;
}

// ---------------------------------------------------------------------------
// Diff
// ---------------------------------------------------------------------------

// Human-readable differences between two snapshots; [] means identical.
export function diffTrees(a: TreeEntry[], b: TreeEntry[], opts: DiffOptions = {}): string[] {
  const inB = new Map(b.map((e) => [e.path, e]));
  const inA = new Set(a.map((e) => e.path));
  const diffs: string[] = [];
  for (const ea of a) {
    const eb = inB.get(ea.path);
    if (eb === undefined) diffs.push(`missing in b: ${ea.path}`);
    else diffs.push(...diffEntry(ea, eb, opts));
  }
  for (const eb of b) if (!inA.has(eb.path)) diffs.push(`missing in a: ${eb.path}`);
  return diffs;
}

function diffEntry(a: TreeEntry, b: TreeEntry, opts: DiffOptions): string[] {
  const p = a.path;
  const out: string[] = [];
  const cmp = (what: string, x: unknown, y: unknown): void => {
    if (x !== y) out.push(`${p}: ${what} ${String(x)} != ${String(y)}`);
  };
  cmp('type', a.type, b.type);
  cmp('mode', a.mode.toString(8), b.mode.toString(8));
  cmp('uid', a.uid, b.uid);
  cmp('gid', a.gid, b.gid);
  cmp('size', a.size, b.size);
  if (!ignoreMtime(p, opts)) cmp('mtime', isoTime(a.mtimeMs), isoTime(b.mtimeMs));
  cmp('sha256', a.sha256, b.sha256);
  cmp('linkTarget', a.linkTarget, b.linkTarget);
  cmp('hardLinkGroup', a.hardLinkGroup, b.hardLinkGroup);
  cmp('sparse', isSparse(a), isSparse(b));
  if (a.acl !== b.acl) out.push(`${p}: acl ${JSON.stringify(a.acl)} != ${JSON.stringify(b.acl)}`);
  out.push(...diffXattrs(p, a.xattrs, b.xattrs));
  return out;
}

function ignoreMtime(p: string, opts: DiffOptions): boolean {
  return (opts.ignoreRootMtime === true && p === '.') || (opts.ignoreMtimeFor?.(p) ?? false);
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Sparse = a file of at least 1 MiB with less than half its size allocated; undefined for non-files. */
function isSparse(e: TreeEntry): boolean | undefined {
  if (e.allocatedBlocks === undefined) return undefined;
  return e.size >= MiB && e.allocatedBlocks * 512 < e.size / 2;
}

function diffXattrs(p: string, a: Record<string, string>, b: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out: string[] = [];
  for (const n of names) {
    if (a[n] !== b[n]) out.push(`${p}: xattr ${n} ${a[n] ?? '(absent)'} != ${b[n] ?? '(absent)'}`);
  }
  return out;
}

// lstat inode number of a path (does not follow symlinks).
export async function inodeOf(p: string): Promise<number> {
  return (await fs.lstat(p)).ino;
}
