// Hostile and odd configs from the drive-safety audit (section 1f): each is refused with FILE:LINE:COL, or
// loaded without losing anything.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { readLedger, recordOf, updateLedger } from '../../src/notify/ledger.js';
import { configProblems } from '../helpers/config-problems.js';

const FILE = 'hostile.yaml';
const UUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

const problemsOf = (text: string) => configProblems(text, FILE);

/** A valid config with `extra` lines appended at the top level. */
const withBase = (extra: string[]) => ['drives:', '  d1:', '    path: /srv/target', 'states:', '  s:', '    folders: [/srv/data]', ...extra, ''].join('\n');

describe('control characters in paths (D20)', () => {
  const cases: [string, string[], string][] = [
    ['stateDir', ['stateDir: "/var/lib/pb\\nExecStartPre=/bin/evil"'], '7:11: stateDir: stateDir contains U+000A (a line break)'],
    ['lockFile', ['backup:', '  lockFile: "/run/lock/pb\\r"'], '8:13: backup.lockFile: lockFile contains U+000D (a carriage return)'],
    ['metrics.textfile', ['metrics:', '  textfile: "/var/lib/x\\0.prom"'], '8:13: metrics.textfile: textfile contains U+0000 (a NUL byte)'],
    ['sendmail.path', ['mail:', '  to: a@example.org', '  sendmail:', '    path: "/usr/sbin/send\\tmail"'], '10:11: mail.sendmail.path: sendmail.path contains U+0009 (a tab)'],
    ['passwordFile', ['mail:', '  to: a@example.org', '  smtp: {host: localhost, user: me, passwordFile: "/etc/pw\\x7f"}'], '9:51: mail.smtp.passwordFile: passwordFile contains U+007F'],
  ];
  for (const [name, extra, expected] of cases) {
    it(`refuses one in ${name}, at its place`, () => {
      const problems = problemsOf(withBase(extra));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`${FILE}:${expected}`);
      expect(problems[0]).toContain('use a path without control characters');
    });
  }

  it('refuses them in a mountPoint, a keyFile and a folder', () => {
    const text = [
      'drives:',
      '  d1:',
      `    uuid: ${UUID}`,
      '    mountPoint: "/run/pb\\nExecStartPre=/nonexistent/INJECTED"',
      '    keyFile: "/etc/k\\n"',
      'states:',
      '  s:',
      '    folders: ["/srv/a\\nb"]',
      '',
    ].join('\n');
    expect(problemsOf(text).map((p) => p.split(', which')[0])).toEqual([
      `${FILE}:4:17: drives.d1.mountPoint: mountPoint contains U+000A (a line break)`,
      `${FILE}:5:14: drives.d1.keyFile: keyFile contains U+000A (a line break)`,
      `${FILE}:8:15: states.s.folders[0]: each folder contains U+000A (a line break)`,
    ]);
  });
});

describe('timer durations (D24)', () => {
  const timers: [string, string[], string][] = [
    ['backup.hookTimeout', ['backup:', '  hookTimeout: 30d'], '8:16: backup.hookTimeout: must be at most 24d'],
    ['backup.lockWait', ['backup:', '  lockWait: 0s'], '8:13: backup.lockWait: must be at least 1s'],
    ['mail.timeout', ['mail:', '  to: a@example.org', '  sendmail: {}', '  timeout: 500ms'], '10:12: mail.timeout: must be at least 1s'],
    ['healthchecks timeout', ['healthchecks:', '  d1: {timeout: 25d}'], '8:17: healthchecks.d1.timeout: must be at most 24d'],
  ];
  for (const [name, extra, expected] of timers) {
    it(`limits ${name} to 1s .. 24d`, () => {
      expect(problemsOf(withBase(extra))).toEqual([expect.stringContaining(`${FILE}:${expected}`)]);
    });
  }

  it('limits deviceTimeout, and takes the bounds themselves', () => {
    const drive = (timeout: string) => ['drives:', '  d1:', `    uuid: ${UUID}`, `    deviceTimeout: ${timeout}`, 'states:', '  s:', '    folders: [/srv]', ''].join('\n');
    expect(problemsOf(drive('0s'))).toEqual([expect.stringContaining(`${FILE}:4:20: drives.d1.deviceTimeout: must be at least 1s`)]);
    expect(problemsOf(drive('24d1s'))).toEqual([expect.stringContaining('must be at most 24d')]);
    expect(problemsOf(drive('1s'))).toEqual([]);
    expect(parseConfig(withBase(['backup:', '  hookTimeout: 24d', '  lockWait: 1s']), FILE).backup).toMatchObject({ hookTimeout: 24 * 86_400_000, lockWait: 1000 });
  });

  it('still takes 0s for daemon.minInterval, which is compared, never waited for', () => {
    expect(parseConfig(withBase(['daemon:', '  minInterval: 0s']), FILE).daemon.minInterval).toBe(0);
  });
});

describe('YAML that would blow up (D25, D28)', () => {
  it('reports an alias bomb at 1:1 instead of a stack trace', () => {
    let bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
    for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) bomb += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
    expect(problemsOf(bomb)).toEqual([expect.stringMatching(new RegExp(`^${FILE}:1:1: YAML: too many aliases \\(.+\\): write the values out`))]);
  });

  it('reports 3000 nested "[" in a few lines, with a count of the repeats', () => {
    const problems = problemsOf('['.repeat(3000));
    expect(problems.length).toBeLessThanOrEqual(11);
    expect(problems.join('\n')).toMatch(/\(and \d+ more like this\)/);
    expect(new Set(problems).size).toBe(problems.length);
  });
});

describe('a keyFile crypttab cannot hold (D28)', () => {
  it('is refused at its place by the config check, not only by generate', () => {
    const text = ['drives:', '  d1:', `    uuid: ${UUID}`, '    keyFile: /etc/plugback/my key', 'states:', '  s:', '    folders: [/srv]', ''].join('\n');
    expect(problemsOf(text)).toEqual([
      `${FILE}:4:14: drives.d1.keyFile: keyFile contains white space, which /etc/crypttab cannot hold: move the key to a path without spaces, got "/etc/plugback/my key"`,
    ]);
  });
});

describe('names that collide with Object.prototype (D29)', () => {
  it('refuses a drive or state named __proto__ at its key, which JavaScript would drop', () => {
    const text = ['drives:', '  __proto__:', '    path: /srv/target', 'states:', '  __proto__: {folders: [/srv/data]}', ''].join('\n');
    expect(problemsOf(text)).toEqual([
      `${FILE}:2:3: drives.__proto__: the name "__proto__" cannot be used (JavaScript objects drop it): choose another name`,
      `${FILE}:5:3: states.__proto__: the name "__proto__" cannot be used (JavaScript objects drop it): choose another name`,
    ]);
  });

  it('keeps drives and states named constructor, toString, valueOf, hasOwnProperty, with no inherited healthchecks', () => {
    const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty'];
    const text = ['drives:', ...names.map((n) => `  ${n}: {path: /srv/t-${n}}`), 'states:', ...names.map((n) => `  ${n}: {folders: [/srv/s-${n}]}`), ''].join('\n');
    const config = parseConfig(text, FILE);
    expect(config.drives.map((d) => d.name)).toEqual(names);
    expect(config.states.map((s) => s.name)).toEqual(names);
    for (const name of names) expect(config.healthchecks[name]).toBeUndefined();
  });

  it('records a drive named constructor in the ledger, and reads no record for an unknown toString', async () => {
    const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plugback-ledger-'));
    try {
      const now = new Date('2024-05-01T10:00:00Z');
      await updateLedger(stateDir, (ledger) => {
        recordOf(ledger, 'constructor', now).lastSuccess = now.toISOString();
        recordOf(ledger, 'hasOwnProperty', now).lastSeen = now.toISOString();
      });
      const ledger = await readLedger(stateDir);
      expect(ledger['constructor']).toEqual({ trackedSince: now.toISOString(), lastSuccess: now.toISOString() });
      expect(ledger['hasOwnProperty']).toEqual({ trackedSince: now.toISOString(), lastSeen: now.toISOString() });
      expect(ledger['toString']).toBeUndefined();
      expect(ledger['valueOf']).toBeUndefined();
    } finally {
      await fs.rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe('security none (D30)', () => {
  const smtp = (host: string) => withBase(['mail:', '  to: a@example.org', `  smtp: {host: "${host}", security: none, user: me, passwordEnv: PW}`]);

  it('is refused with a user and a remote host: the password would go in clear text', () => {
    expect(problemsOf(smtp('smtp.example.org'))).toEqual([
      expect.stringContaining(`${FILE}:9:46: mail.smtp.security: security none would send the password for me in clear text to smtp.example.org: use starttls or tls`),
    ]);
    expect(problemsOf(smtp('192.168.1.10'))).toHaveLength(1);
  });

  it('is taken for a relay on this machine, or without a login', () => {
    for (const host of ['localhost', '127.0.0.1', '::1']) expect(problemsOf(smtp(host)), host).toEqual([]);
    expect(problemsOf(withBase(['mail:', '  to: a@example.org', '  smtp: {host: smtp.example.org, security: none}']))).toEqual([]);
  });
});
