// The per-run payload disk (/dev/vdb in the guest, mounted at /payload): this checkout's build (dist/, node_modules/,
// package.json, config/, units/, udev/, policy/), the host's own node binary (same glibc as the guest), the guest
// driver, the BlinkStick emulator, the SMTP sink, the key files and the run's parameters. Packed with
// `mkfs.ext4 -d`; the guest writes its results into it, and the host reads them back after power-off with debugfs
// (no mount needed).
import { cpSync, mkdirSync, writeFileSync, copyFileSync, chmodSync, rmSync, realpathSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..', '..');

export async function buildPayload({ runDir, params, keys }) {
  const tree = join(runDir, 'payload-tree');
  mkdirSync(join(tree, 'plugback'), { recursive: true });
  for (const part of ['dist', 'node_modules', 'config', 'units', 'udev', 'policy', 'package.json']) {
    // realpath: in a git worktree node_modules is a link to another checkout, which the guest does not have.
    cpSync(realpathSync(join(repoRoot, part)), join(tree, 'plugback', part), { recursive: true, verbatimSymlinks: true });
  }
  copyFileSync(process.execPath, join(tree, 'node'));
  chmodSync(join(tree, 'node'), 0o755);
  // The guest driver and all its modules, beside each other as they import each other.
  const guestDir = join(here, '..', 'guest');
  for (const part of readdirSync(guestDir).filter((f) => f.endsWith('.mjs') || f === 'guest-run.sh')) copyFileSync(join(guestDir, part), join(tree, part));
  chmodSync(join(tree, 'guest-run.sh'), 0o755);
  for (const helper of ['blinkstick-uhid.mjs', 'smtp-sink.mjs']) copyFileSync(join(here, '..', helper), join(tree, helper));
  mkdirSync(join(tree, 'keys'));
  for (const [name, bytes] of Object.entries(keys)) writeFileSync(join(tree, 'keys', name), bytes, { mode: 0o600 });
  mkdirSync(join(tree, 'results'));
  writeFileSync(join(tree, 'params.json'), JSON.stringify(params, null, 2));
  const image = join(runDir, 'payload.img');
  await run('mkfs.ext4', ['-q', '-F', '-L', 'payload', '-d', tree, image, '1G']);
  rmSync(tree, { recursive: true, force: true });
  return image;
}

/** Copies the guest's /results folder out of the payload image (after power-off) into `dest`. */
export async function readResults(image, dest) {
  mkdirSync(dest, { recursive: true });
  await run('debugfs', ['-R', `rdump /results ${dest}`, image]);
  return join(dest, 'results');
}
