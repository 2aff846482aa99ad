// Flushing a whole file system to disk: syncfs(2) through coreutils' `sync --file-system`, since Node has no syncfs.
import { runProgram } from './spawn-program.js';

/** Flushes the file system that holds `somePath`; far cheaper than fsyncing every file of a snapshot. */
export async function syncFileSystem(somePath: string): Promise<void> {
  const result = await runProgram('sync', ['--file-system', somePath]);
  if (result.exitCode === 0) return;
  const why = result.code === 'ENOENT' ? 'sync is not installed (apt-get install coreutils)'
    : result.code ? result.code
    : result.exitCode === undefined ? `killed by ${result.signal ?? 'a signal'}` : `exit code ${result.exitCode}`;
  const said = result.stderr.trim();
  throw new Error(`sync --file-system ${somePath} failed: ${why}${said ? `: ${said}` : ''}`);
}
