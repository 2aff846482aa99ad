// A LUKS mapping that outlived its disk. When a drive is pulled out mid-copy, systemd stops its cryptsetup unit at
// once (BindsTo=), while rsync still holds the mount: the detach fails ("Device ... is still in use"), the unit ends
// inactive, and /dev/mapper/<name> stays behind on a disk that is gone. Stopping the unit again does nothing, and
// the next plug of that drive would find a mapping in the way. Once the lazy unmount has let go of it, it can be
// closed with cryptsetup (by systemd: drive-mounts.ts closeStaleMapping).
import { stat } from 'node:fs/promises';

export function mapperPath(cryptName: string): string {
  return `/dev/mapper/${cryptName}`;
}

export async function mappingExists(cryptName: string): Promise<boolean> {
  return stat(mapperPath(cryptName)).then(
    () => true,
    () => false,
  );
}
