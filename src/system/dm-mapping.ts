// A LUKS mapping that outlived its disk. When a drive is pulled out mid-copy, systemd stops its cryptsetup unit at
// once (BindsTo=), while rsync still holds the mount: the detach fails ("Device ... is still in use"), the unit ends
// inactive, and /dev/mapper/<name> stays behind on a disk that is gone. Stopping the unit again does nothing, and
// the next plug of that drive would find a mapping in the way. Once our lazy unmount has let go of it, it can be
// closed with cryptsetup.
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

export function mapperPath(cryptName: string): string {
  return `/dev/mapper/${cryptName}`;
}

export async function mappingExists(cryptName: string): Promise<boolean> {
  return stat(mapperPath(cryptName)).then(
    () => true,
    () => false,
  );
}

/**
 * Closes `/dev/mapper/<cryptName>` if it is still there, retrying while a lazily detached mount still holds it.
 * Returns whether there was one to close; throws when it stays open.
 */
export async function closeStaleMapping(cryptName: string, options: { attempts?: number; delayMs?: number } = {}): Promise<boolean> {
  if (!(await mappingExists(cryptName))) return false;
  const attempts = options.attempts ?? 10;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const result = await execa('cryptsetup', ['close', cryptName], { reject: false, all: true, timeout: 30_000 });
    if (result.exitCode === 0 || !(await mappingExists(cryptName))) return true;
    last = (result.all ?? '').trim() || `cryptsetup exited with ${result.exitCode}`;
    await sleep(options.delayMs ?? 1000);
  }
  throw new Error(`the LUKS mapping ${cryptName} is still open after its disk went away (${last}); close it with "cryptsetup close ${cryptName}" once nothing uses it`);
}
