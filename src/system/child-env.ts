// The environment plugback hands to the programs it starts (hooks, rsync): its own, minus its secrets. Hooks are
// user scripts whose output lands in logs and mails, and rsync may run remote shells; neither needs the SMTP password.
import type { Config } from '../config/model.js';

/** Set by systemd for LoadCredential=: the directory of the service's credentials, the SMTP password among them. */
const ALWAYS_HIDDEN = ['CREDENTIALS_DIRECTORY'];

/** The variables childEnvironment leaves out for `config`: the one named by mail.smtp.passwordEnv, and CREDENTIALS_DIRECTORY. */
export function secretVariables(config: Config): string[] {
  const named = config.mail?.smtp?.passwordEnv;
  return named ? [...ALWAYS_HIDDEN, named] : [...ALWAYS_HIDDEN];
}

/** process.env without plugback's secrets, for every child process (pass it with extendEnv: false). */
export function childEnvironment(config: Config, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const hidden = new Set(secretVariables(config));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !hidden.has(name)) out[name] = value;
  }
  return out;
}
