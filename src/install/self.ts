// How generated units start plugback: an absolute command, since systemd does not search $PATH the way a shell does.
import { accessSync, constants, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A --bin that cannot be used. */
export class BinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BinError';
  }
}

/**
 * `--bin PATH` when given (a wrapper or packaged binary), else this very Node.js and this plugback's main.js:
 * both absolute and resolved, so the units keep working whatever $PATH systemd has and wherever npm linked it.
 */
export function plugbackCommand(bin?: string): string[] {
  if (bin !== undefined) {
    if (!path.isAbsolute(bin)) throw new BinError(`--bin ${bin} is not an absolute path; systemd needs one (e.g. --bin /usr/local/bin/plugback)`);
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      throw new BinError(`--bin ${bin} is not an executable file; give the path of the plugback command, e.g. $(command -v plugback)`);
    }
    return [bin];
  }
  return [process.execPath, realpathSync(fileURLToPath(new URL('../main.js', import.meta.url)))];
}
