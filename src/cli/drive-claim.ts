// `plugback drive claim NAME`: this installation takes over its host folder on a drive (after a reinstall).
import type { Config, Drive } from '../config/model.js';
import { checkOwner, installationId } from '../repo/installation.js';
import { openVerifiedRepository } from '../repo/verify-drive.js';
import { UserError } from './common.js';

/** Claims `<drive>/plugback/<host>/` for this installation; returns the sentence to print. */
export async function claimHostFolder(config: Config, drive: Drive): Promise<string> {
  const { repo } = await openVerifiedRepository(config, drive).catch((error: Error) => Promise.reject(new UserError(error.message, 1)));
  try {
    await repo.createFolders();
    const installation = await installationId(config.stateDir);
    const host = repo.host;
    if (!host) throw new Error(`internal error: ${repo.paths.host} was not opened`);
    await checkOwner(host, { installation, host: config.host, drive: drive.name, configFile: config.file }, true);
    return `${repo.paths.host} now belongs to this installation (${installation}); its snapshots are pruned by this machine's retention`;
  } finally {
    await repo.close();
  }
}
