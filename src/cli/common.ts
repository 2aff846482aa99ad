// What most commands share: loading the config with good errors, and finding a drive by name.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config/defaults.js';
import type { LoadOptions } from '../config/load.js';
import type { Config, Drive } from '../config/model.js';

/** A failure the user can act on: printed as is (no stack), with an exit code. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** Print without the "plugback:" prefix. */
    readonly bare = false,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** The --config given anywhere on the command line, or the default. */
export function configFileOf(command: Command): string {
  return (command.optsWithGlobals() as { config?: string }).config ?? DEFAULT_CONFIG_FILE;
}

/** Loads the config, turning its problems into a usage error (exit 2) that lists them all. */
export async function loadConfigOrExit(file: string, options: LoadOptions = {}): Promise<Config> {
  // Loaded on demand: the schema and YAML libraries are the bulk of plugback's start-up time.
  const { ConfigError, loadConfig } = await import('../config/load.js');
  try {
    return await loadConfig(file, options);
  } catch (error) {
    // Printed bare, one FILE:LINE:COL line per problem, so editors and CI annotate them.
    if (error instanceof ConfigError) throw new UserError(error.message, 2, true);
    throw error;
  }
}

/** The drive called `name`, or a usage error naming the drives there are. */
export function findDrive(config: Config, name: string): Drive {
  const drive = config.drives.find((d) => d.name === name);
  if (drive) return drive;
  const known = config.drives.map((d) => d.name).join(', ') || 'none';
  throw new UserError(`there is no drive "${name}" in ${config.file} (drives: ${known})`, 2);
}
