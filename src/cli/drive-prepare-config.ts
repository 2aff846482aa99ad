// The config lines of a drive `plugback drive prepare` made: printed, or added to the config file with
// --write-config through the yaml Document API, so the user's comments and layout stay as they were.
import { readFile, stat } from 'node:fs/promises';
import { UserError } from './common.js';
import { EXIT } from './exit-codes.js';

export interface PreparedDrive {
  name: string;
  uuid: string;
  keyFile: string;
}

/** The drive's entry as YAML, ready to paste under the top of a config. */
export function configLines(drive: PreparedDrive): string {
  return [
    'drives:',
    `  ${drive.name}:`,
    `    uuid: ${drive.uuid}   # the LUKS container; mounted at /run/plugback/${drive.name} (mountPoint)`,
    `    keyFile: ${drive.keyFile}`,
    '',
  ].join('\n');
}

/** Refuses a name the config file has already (when there is a file). */
export async function refuseKnownName(file: string, name: string): Promise<void> {
  const document = await readDocument(file).catch(() => undefined);
  if (document?.hasIn(['drives', name])) {
    throw new UserError(`drive prepare: ${file} has a drive "${name}" already: choose another name, or remove that entry first`, EXIT.usage);
  }
}

/** Adds the drive under `drives:` in the config file, keeping its comments; checks the result loads. */
export async function addToConfig(file: string, drive: PreparedDrive): Promise<void> {
  const [{ parseConfig, ConfigError }, { writeFileAtomic }] = await Promise.all([import('../config/load.js'), import('../system/atomic-file.js')]);
  const document = await readDocument(file);
  if (document.hasIn(['drives', drive.name])) throw new UserError(`drive prepare: ${file} has a drive "${drive.name}" already; it was left as it is`, EXIT.failed);
  document.setIn(['drives', drive.name], document.createNode({ uuid: drive.uuid, keyFile: drive.keyFile }));
  // No padding inside [ ] and { }: flow collections stay as people usually write them.
  const text = document.toString({ flowCollectionPadding: false });
  try {
    parseConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigError) throw new UserError(`drive prepare: ${file} would not load with the drive added, so it was left as it is:\n${error.message}`, EXIT.failed);
    throw error;
  }
  await writeFileAtomic(file, text, (await stat(file)).mode & 0o7777);
}

async function readDocument(file: string) {
  const { parseDocument } = await import('yaml');
  return parseDocument(await readFile(file, 'utf8'));
}
