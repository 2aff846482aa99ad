// childEnvironment: what hooks and rsync inherit is plugback's environment without its secrets.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { childEnvironment, secretVariables } from '../../src/system/child-env.js';

const BASE = ['drives:', '  offsite-a:', '    path: /srv/backup', 'states:', '  photos:', '    folders: [/srv/photos]'];
const SMTP = ['mail:', '  to: me@example.org', '  smtp:', '    host: smtp.example.org', '    user: nas', '    passwordEnv: MY_SMTP_PASSWORD'];

describe('childEnvironment', () => {
  it('leaves out the variable named by mail.smtp.passwordEnv and CREDENTIALS_DIRECTORY, and keeps the rest', () => {
    const config = parseConfig([...BASE, ...SMTP].join('\n'), 'plugback.yaml');
    const env = { PATH: '/usr/bin:/bin', HOME: '/root', MY_SMTP_PASSWORD: 'hunter2-secret', CREDENTIALS_DIRECTORY: '/run/credentials/plugback.service', LANG: 'C.UTF-8' };
    expect(childEnvironment(config, env)).toEqual({ PATH: '/usr/bin:/bin', HOME: '/root', LANG: 'C.UTF-8' });
    expect(secretVariables(config)).toEqual(['CREDENTIALS_DIRECTORY', 'MY_SMTP_PASSWORD']);
  });

  it('leaves out CREDENTIALS_DIRECTORY also without mail, and reads process.env by default', () => {
    const config = parseConfig(BASE.join('\n'), 'plugback.yaml');
    expect(childEnvironment(config, { CREDENTIALS_DIRECTORY: '/run/credentials/x', PATH: '/bin' })).toEqual({ PATH: '/bin' });
    expect(childEnvironment(config).PATH).toBe(process.env.PATH);
  });
});
