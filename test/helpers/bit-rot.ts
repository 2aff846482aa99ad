// Damage as a failing disk does it, for the tests of `plugback check` and the restore drill.
import fs from 'node:fs/promises';

/** Flips one bit of a file in place, keeping its size and times. */
export async function flipByte(file: string): Promise<void> {
  const st = await fs.stat(file);
  const data = await fs.readFile(file);
  data[3] = (data[3] as number) ^ 1;
  await fs.writeFile(file, data);
  await fs.utimes(file, st.atime, st.mtime);
}
