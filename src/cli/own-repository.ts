// The repository of this host on a drive that is in place, is the drive the config means, and whose host folder
// is not another installation's: what `forget` and `prune` need before they look at a snapshot. Writes nothing
// on the drive (a host folder nobody claimed yet is claimed by the next backup, not here).
import type { Config, Drive } from '../config/model.js';
import type { Repository } from '../repo/repository.js';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';

export async function openOwnRepository(config: Config, drive: Drive): Promise<{ repo: Repository; installation: string }> {
  const { openVerifiedRepository } = await import('../repo/verify-drive.js');
  const { installationId, refuseForeign } = await import('../repo/installation.js');
  const fail = (error: Error) => Promise.reject(new UserError(error.message, EXIT.failed));
  const { repo } = await openVerifiedRepository(config, drive).catch(fail);
  try {
    const installation = await installationId(config.stateDir);
    if (repo.host) await refuseForeign(repo.host, { installation, host: config.host, drive: drive.name, configFile: config.file });
    return { repo, installation };
  } catch (error) {
    await repo.close();
    throw error instanceof UserError ? error : new UserError((error as Error).message, EXIT.failed);
  }
}
