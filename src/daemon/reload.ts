// A config reload's reading and telling: the new file is loaded, or refused with its problems (the old config
// stays in force); what changed is logged. The daemon applies it (daemon.ts reload()).
import type { Logger } from 'pino';
import type { Config } from '../config/model.js';

export interface ReloadSource {
  configFile: string;
  /** Throws ConfigError when the file is invalid. */
  loadConfig(file: string): Promise<Config>;
}

/** The config file read again, or undefined (logged) when it is invalid. */
export async function readNewConfig(source: ReloadSource, log: Logger, why: string): Promise<Config | undefined> {
  try {
    return await source.loadConfig(source.configFile);
  } catch (error) {
    log.error({ why }, `the config was not reloaded (${why}); the previous one stays in force until this is fixed:\n${(error as Error).message}`);
    return undefined;
  }
}

/** Logs the reload, after it has been applied. */
export function logReloaded(log: Logger, why: string, before: Config, next: Config, running: string | undefined): void {
  const job = running !== undefined ? `; the backup of "${running}" goes on with the config it started with` : '';
  log.info({ why, drives: next.drives.map((d) => d.name) }, `config reloaded (${why})${job}`);
  if (JSON.stringify(next.led) !== JSON.stringify(before.led)) log.info('the new LED settings take effect when the daemon restarts');
}
