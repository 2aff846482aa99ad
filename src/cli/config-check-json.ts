// `plugback config check --json`: the verdict on a config file as one JSON document (docs/json.md), for editors'
// plugins and provisioning scripts: valid with what it holds (exit 0), or every problem with its place (exit 2).
import { driveRoot } from '../config/model.js';
import { EXIT } from './exit-codes.js';
import { JSON_FORMAT } from './job-output.js';

/** Checks `file` as `config check` does and prints the JSON answer; returns the exit code. */
export async function configCheckJson(file: string): Promise<number> {
  const { ConfigError, loadConfig } = await import('../config/load.js');
  const print = (doc: object) => process.stdout.write(`${JSON.stringify({ format: JSON_FORMAT, ...doc }, null, 2)}\n`);
  try {
    const config = await loadConfig(file, { checkSecrets: true, checkCalendars: true });
    print({
      file: config.file,
      valid: true,
      host: config.host,
      drives: config.drives.map((d) => ({
        drive: d.name,
        kind: d.kind,
        ...(d.kind === 'luks' ? { uuid: d.uuid } : {}),
        path: driveRoot(d),
        schedule: d.schedule?.calendar ?? null,
      })),
      states: config.states.map((s) => ({ state: s.name, folders: s.folders })),
    });
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problems = error.problems.map((p) => ({ file: p.file, line: p.line, column: p.col, message: p.message }));
    print({ file, valid: false, problems });
    return EXIT.usage;
  }
}
