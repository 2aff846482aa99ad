// Where install kept its manifest: the config's stateDir, or the default when the config is gone or broken
// (uninstall must still work after the config was removed).
import { DEFAULT_STATE_DIR } from '../config/defaults.js';

export async function stateDirOf(configFile: string): Promise<string> {
  const { loadConfig } = await import('../config/load.js');
  return loadConfig(configFile).then(
    (config) => config.stateDir,
    () => DEFAULT_STATE_DIR,
  );
}
