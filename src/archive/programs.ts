// The programs an archive needs, looked for before anything starts: "gpg is not installed" is a better message
// than nice(1) saying it could not run a file, after tar has already begun.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

/** The Debian package that ships each program, for the message. */
const PACKAGE: Record<string, string> = { tar: 'tar', zstd: 'zstd', gzip: 'gzip', gpg: 'gnupg', nice: 'coreutils', ionice: 'util-linux' };

export async function onPath(program: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean)) {
    if (await access(path.join(dir, program), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

/** Throws naming every missing program and the package to install, with what needs it. */
export async function requirePrograms(needs: Record<string, string>): Promise<void> {
  const missing: string[] = [];
  for (const [program, why] of Object.entries(needs)) {
    if (!(await onPath(program))) missing.push(`${program} (${why})`);
  }
  if (missing.length === 0) return;
  const packages = [...new Set(Object.keys(needs).filter((p) => missing.some((m) => m.startsWith(`${p} `))).map((p) => PACKAGE[p] ?? p))];
  throw new Error(`not installed: ${missing.join(', ')}; install it with: apt-get install ${packages.join(' ')}`);
}
