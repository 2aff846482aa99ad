// Temporary folders a test file makes, all removed after each test.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

/** Registers the cleanup; returns the maker of /tmp/plugback-PREFIX-XXXXXX folders. */
export function tempDirsRemovedAfterEach(): (prefix: string) => Promise<string> {
  const temps: string[] = [];
  afterEach(async () => {
    await Promise.all(temps.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
  });
  return async (prefix) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), `plugback-${prefix}-`));
    temps.push(dir);
    return dir;
  };
}
