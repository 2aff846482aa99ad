// Our unit-name escaping against the real systemd-escape, on the documented examples and on generated inputs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { systemdEscape, type EscapeOptions } from '../../src/units/escape.js';

const execFileP = promisify(execFile);

interface Escaped {
  ok: boolean;
  out: string;
}

/** Runs systemd-escape with `flags` on each value, 25 values a process (one by one where a value fails). */
async function realEscape(flags: string[], values: string[]): Promise<Escaped[]> {
  const results: Escaped[] = [];
  for (let i = 0; i < values.length; i += 25) results.push(...(await realEscapeBatch(flags, values.slice(i, i + 25))));
  return results;
}

async function realEscapeBatch(flags: string[], values: string[]): Promise<Escaped[]> {
  const batch = await execFileP('systemd-escape', [...flags, '--', ...values]).catch(() => undefined);
  // Escaped names never hold a raw space (it becomes \x20), so the space-separated output splits cleanly.
  if (batch) return batch.stdout.replace(/\n$/, '').split(' ').map((out) => ({ ok: true, out }));
  return Promise.all(
    values.map((v) =>
      execFileP('systemd-escape', [...flags, '--', v]).then(
        (r) => ({ ok: true, out: r.stdout.replace(/\n$/, '') }),
        () => ({ ok: false, out: '' }),
      ),
    ),
  );
}

function ours(options: EscapeOptions, value: string): Escaped {
  try {
    return { ok: true, out: systemdEscape(value, options) };
  } catch {
    return { ok: false, out: '' };
  }
}

/** A small deterministic generator (mulberry32), so a failure can be reproduced. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['/', '/', '//', '.', '..', '-', '\\', ' ', 'a', 'Z', '9', ':', '_', 'ü', '€', '日本', '😀', 'x2d', '\\x2d', '%', '@', '\t', '$', '"', "'", 'mnt', 'backup-drive', '.hidden', 'dev', 'by-uuid'];

function generatedInputs(count: number, seed: number): string[] {
  const next = random(seed);
  const inputs: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(next() * 8);
    let s = next() < 0.6 ? '/' : '';
    for (let j = 0; j < length; j++) s += PIECES[Math.floor(next() * PIECES.length)];
    inputs.push(s);
  }
  return inputs;
}

const EXAMPLES = [
  '/dev/disk/by-uuid/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
  '/',
  '//dev//sdb1/',
  '/mnt/backup-drive',
  '/run/media/user/My Disk',
  '/.hidden/x',
  '/a/.b',
  '/srv/a:b/c_d.e',
  '/home/ü',
  '/a\\b',
  '/a/./b',
  '/a/../b',
  '/..',
  '.',
  './',
  '',
  '.a',
  'a.',
  '-',
  'backup-disk',
  'x'.repeat(243),
  'x'.repeat(244),
  'x'.repeat(300),
  `/${'y'.repeat(250)}`,
];

describe('escaping unit names like systemd-escape', () => {
  it('matches the worked examples of platform-facts.md', () => {
    const path = { path: true };
    expect(systemdEscape('/dev/disk/by-uuid/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', { path: true, suffix: 'device' })).toBe(
      'dev-disk-by\\x2duuid-aaaaaaaa\\x2daaaa\\x2daaaa\\x2daaaa\\x2daaaaaaaaaaaa.device',
    );
    expect(systemdEscape('/', path)).toBe('-');
    expect(systemdEscape('//dev//sdb1/', path)).toBe('dev-sdb1');
    expect(systemdEscape('/run/media/user/My Disk', path)).toBe('run-media-user-My\\x20Disk');
    expect(systemdEscape('/.hidden/x', path)).toBe('\\x2ehidden-x');
    expect(systemdEscape('/a/.b', path)).toBe('a-.b');
    expect(systemdEscape('/home/ü', path)).toBe('home-\\xc3\\xbc');
    expect(() => systemdEscape('/a/../b', path)).toThrow(/not a normalized/);
    expect(systemdEscape('backup-disk', { template: 'systemd-cryptsetup@.service' })).toBe('systemd-cryptsetup@backup\\x2ddisk.service');
  });

  for (const [flags, options] of [
    [[], {}],
    [['--path'], { path: true }],
    [['--suffix=service'], { suffix: 'service' }],
    [['--template=plugback-drive@.service'], { template: 'plugback-drive@.service' }],
    [['--template=systemd-fsck@.service', '--path'], { template: 'systemd-fsck@.service', path: true }],
    [['--path', '--suffix=device'], { path: true, suffix: 'device' }],
  ] as const) {
    it(`gives what systemd-escape ${flags.join(' ') || '(plain)'} gives, or fails where it fails, on ${EXAMPLES.length} examples and 400 generated inputs`, async () => {
      const inputs = [...EXAMPLES, ...generatedInputs(400, 7 + flags.join().length)];
      const real = await realEscape([...flags], inputs);
      const mismatches = inputs
        .map((input, i) => ({ input, real: real[i], ours: ours(options, input) }))
        .filter((r) => r.real?.ok !== r.ours.ok || r.real.out !== r.ours.out);
      expect(mismatches).toEqual([]);
    });
  }
});
