// The mail, reminders, metrics and healthchecks sections: defaults, and the problems a user can make, with positions.
import { describe, expect, it } from 'vitest';
import { ConfigError, formatProblem, parseConfig } from '../../src/config/load.js';

const FILE = 'plugback.yaml';
const BASE = ['drives:', '  offsite-a:', '    path: /srv/backup', 'states:', '  photos:', '    folders: [/srv/photos]'];

function problemsOf(lines: string[]): string[] {
  try {
    parseConfig([...BASE, ...lines].join('\n'), FILE);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  return [];
}

describe('notification settings', () => {
  it('have defaults: no mail, reminders daily at 09:00 after 14 days, every 7 days; no metrics, no pings', () => {
    const config = parseConfig(BASE.join('\n'), FILE);
    expect(config.mail).toBeUndefined();
    expect(config.reminders).toEqual({ enabled: true, overdueAfterDays: 14, remindEvery: 7 * 86_400_000, schedule: '0 9 * * *' });
    expect(config.metrics).toEqual({});
    expect(config.healthchecks).toEqual({});
  });

  it('accept SMTP with a password file, one recipient given as text, and fill in the rest', () => {
    const config = parseConfig(
      [...BASE, 'mail:', '  to: me@example.org', '  smtp:', '    host: smtp.example.org', '    user: nas', '    passwordFile: /etc/plugback/smtp-password'].join('\n'),
      FILE,
    );
    expect(config.mail).toEqual({
      to: ['me@example.org'],
      onSuccess: false,
      timeout: 30_000,
      smtp: { host: 'smtp.example.org', security: 'starttls', user: 'nas', passwordFile: '/etc/plugback/smtp-password' },
    });
  });

  it('refuse a password written into the config, pointing at it without repeating it', () => {
    const problems = problemsOf(['mail:', '  to: me@example.org', '  smtp:', '    host: smtp.example.org', '    user: nas', '    password: hunter2']);
    expect(problems).toContain(
      `${FILE}:12:5: mail.smtp.password: a password in the config is refused (anyone who can read this file could read it): write it to a file only root can read (chmod 600) and give that file as passwordFile, or name an environment variable in passwordEnv`,
    );
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('want exactly one of smtp and sendmail, and a password source for a user', () => {
    expect(problemsOf(['mail:', '  to: me@example.org'])).toEqual([
      `${FILE}:8:3: mail: mail needs exactly one way to send: smtp (a server) or sendmail (the local mail system)`,
    ]);
    expect(problemsOf(['mail:', '  to: me@example.org', '  smtp:', '    host: h', '    user: nas'])).toEqual([
      `${FILE}:10:5: mail.smtp: smtp.user needs its password from passwordFile or passwordEnv`,
    ]);
  });

  it('point at a cron schedule that is not one, saying what a good one looks like', () => {
    expect(problemsOf(['reminders:', '  schedule: "0 25 * * *"'])).toEqual([
      `${FILE}:8:13: reminders.schedule: not a cron expression (25 is a invalid expression for hour): use "minute hour day-of-month month day-of-week", e.g. "0 9 * * *" for 09:00 every day, got "0 25 * * *"`,
    ]);
  });

  it('point at healthchecks for a drive that is not configured, and at a URL that is not http', () => {
    expect(problemsOf(['healthchecks:', '  offsite-z:', '    success: https://hc-ping.com/x'])).toEqual([
      `${FILE}:8:3: healthchecks.offsite-z: there is no drive "offsite-z" under drives: (drives: offsite-a)`,
    ]);
    expect(problemsOf(['healthchecks:', '  offsite-a:', '    success: ftp://example.org/x'])).toEqual([
      `${FILE}:9:14: healthchecks.offsite-a.success: expected an http:// or https:// URL, got "ftp://example.org/x"`,
    ]);
  });

  it('want a metrics textfile that node_exporter reads (.prom)', () => {
    expect(problemsOf(['metrics:', '  textfile: /var/lib/node-exporter/plugback.txt'])).toEqual([
      `${FILE}:8:13: metrics.textfile: node_exporter's textfile collector only reads files ending in .prom, got "/var/lib/node-exporter/plugback.txt"`,
    ]);
  });
});
