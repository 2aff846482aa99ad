// Small facts about the config that light modules need without loading the schema.

export const DEFAULT_CONFIG_FILE = '/etc/plugback/config.yaml';
export const DEFAULT_STATE_DIR = '/var/lib/plugback';

/** A plugback command line to suggest in a message, with --config when the config is not the default one. */
export function commandHint(configFile: string, args: string): string {
  return `plugback ${args}${configFile === DEFAULT_CONFIG_FILE ? '' : ` --config ${configFile}`}`;
}
