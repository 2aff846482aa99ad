// Flushing a whole file system to disk: syncfs(2) through coreutils' `sync --file-system`, since Node has no syncfs.

/** Flushes the file system that holds `somePath`; far cheaper than fsyncing every file of a snapshot. */
export async function syncFileSystem(somePath: string): Promise<void> {
  const { execa } = await import('execa');
  await execa('sync', ['--file-system', somePath]);
}
