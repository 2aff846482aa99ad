// The LED through a whole job: real backups (real rsync, flock and hooks on a directory drive) whose events go
// through ledReporter into the LedController that startLed sets up on a fake BlinkStick; plus hot-plug, no stick,
// read-back verification and a disabled LED.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import type { LedSettings } from '../../src/config/model.js';
import { ledSchema } from '../../src/config/schema.js';
import { applyBrightness } from '../../src/led/brightness.js';
import { parseColour, type Rgb } from '../../src/led/colour.js';
import { ledReporter } from '../../src/led/led-reporter.js';
import { startLed, type LedSession } from '../../src/led/led-session.js';
import { colourAt, PULSE_PERIOD_MS } from '../../src/led/patterns.js';
import type { JobEvent } from '../../src/job/events.js';
import { BackupFixture, type FixtureSettings } from '../helpers/backup-fixture.js';
import { FakeBlinkStick, FakeHidTransport, rgbText, type FakeStickOptions } from '../helpers/fake-blinkstick.js';

const execFileP = promisify(execFile);

const rgb = (r: number, g: number, b: number): Rgb => ({ r, g, b });
// The default colours at the default brightness 20 % (stock formula: int(v/255*int(0.2*255))).
const OFF = rgbText(rgb(0, 0, 0));
const GREEN = rgbText(rgb(0, 25, 0));
const RED = rgbText(rgb(51, 0, 0));
const ATTENTION = rgbText(rgb(6, 28, 51)); // dodgerblue
const WORKING_FLOOR = rgbText(rgb(1, 5, 3)); // #33c280 at the pulse's 15 % floor
const WORKING_STEADY = rgbText(rgb(10, 38, 25));
/** Every colour the working pulse can show at 20 %. */
const PULSE_COLOURS = new Set(
  Array.from({ length: PULSE_PERIOD_MS }, (_, ms) =>
    rgbText(applyBrightness(colourAt({ kind: 'pulse', colour: parseColour('#33c280') ?? rgb(0, 0, 0), periodMs: PULSE_PERIOD_MS }, ms), 20)),
  ),
);

interface LogEntry {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const fixtures: BackupFixture[] = [];
const sessions: LedSession[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const s of sessions.splice(0)) await s.close();
  for (const f of fixtures.splice(0)) await f.cleanup();
});

async function setup(settings: FixtureSettings = {}): Promise<BackupFixture> {
  const f = await BackupFixture.create(settings);
  fixtures.push(f);
  await fs.writeFile(path.join(f.source, 'a.txt'), 'some data\n');
  return f;
}

interface Led {
  stick: FakeBlinkStick;
  transport: FakeHidTransport;
  session: LedSession;
  logs: LogEntry[];
}

/**
 * startLed on a bus with one fake stick (or none), logging into an array. `pollMs` rides along in the settings:
 * startLed hands them to StickConnection as its options, which is where the poll interval is read.
 */
async function startFakeLed(
  options: { stick?: FakeStickOptions | 'none'; settings?: z.input<typeof ledSchema>; pollMs?: number } = {},
): Promise<Led> {
  const stick = new FakeBlinkStick(options.stick === 'none' ? {} : options.stick);
  const transport = options.stick === 'none' ? new FakeHidTransport() : new FakeHidTransport(stick);
  const logs: LogEntry[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogEntry) });
  const settings: LedSettings & { pollMs?: number } = { ...ledSchema.parse(options.settings ?? {}), ...(options.pollMs ? { pollMs: options.pollMs } : {}) };
  const session = await startLed(settings, log, transport);
  if (!session) throw new Error('startLed gave no session');
  sessions.push(session);
  return { stick, transport, session, logs };
}

/** Closes the session (as `plugback run` does after the job) so every write has been made. */
async function finish(led: Led): Promise<void> {
  const at = sessions.indexOf(led.session);
  if (at >= 0) sessions.splice(at, 1);
  await led.session.close();
}

const warnings = (logs: LogEntry[]) => logs.filter((l) => l.level >= 40);

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('the LED during a real backup job', () => {
  it('pulses the working colour while the job runs and ends green when it succeeded', async () => {
    const f = await setup({ hooks: { preBackup: 'sleep 0.6' } });
    const led = await startFakeLed();
    const result = await f.run({ onEvent: ledReporter(led.session.controller) });
    await finish(led);
    expect(result.outcome).toBe('success');

    const shown = led.stick.sequence(0).map(rgbText);
    expect(shown[0]).toBe(OFF); // idle, drawn when the stick was found
    const job = shown.slice(1);
    expect(job[0]).toBe(WORKING_FLOOR);
    expect(job.at(-1)).toBe(GREEN);
    const working = job.slice(0, -1);
    expect(working.filter((c) => !PULSE_COLOURS.has(c))).toEqual([]);
    expect(new Set(working).size).toBeGreaterThanOrEqual(4); // it pulsed, not just shone
    expect(rgbText(led.stick.colourOf(0))).toBe(GREEN);
    expect(led.stick.openHandles).toBe(0);
    expect(warnings(led.logs)).toEqual([]);
  });

  it.each([
    ['a preBackup hook exits 1', (f: BackupFixture): FixtureSettings => ({ hooks: { preBackup: 'exit 1' } }), 'pre-backup-hooks'],
    ['the source folder is missing', (f: BackupFixture): FixtureSettings => ({ states: { data: { folders: [path.join(f.root, 'gone')] } } }), 'check-source'],
  ] as const)('ends red when %s', async (_why, broken, step) => {
    const f = await setup();
    await f.configure(broken(f));
    const led = await startFakeLed();
    const result = await f.run({ onEvent: ledReporter(led.session.controller) });
    await finish(led);
    expect(result).toMatchObject({ outcome: 'failed', failedStep: step });
    const shown = led.stick.sequence(0).map(rgbText);
    expect(shown[1]).toBe(WORKING_FLOOR);
    expect(shown.at(-1)).toBe(RED);
    expect(rgbText(led.stick.colourOf(0))).toBe(RED);
  });

  it('blinks the attention colour while another process holds the lock, then pulses working again and ends green', async () => {
    const f = await setup({ backup: { lockWait: '10s' } });
    const holder = spawn('flock', [f.lockFile, 'sleep', '2'], { stdio: 'ignore', detached: true });
    f.track(holder); // killed by PID (and its group) in cleanup
    await waitFor('flock(1) to take the lock', () => execFileP('flock', ['--nonblock', f.lockFile, 'true']).then(() => false, () => true));
    const led = await startFakeLed();
    const result = await f.run({ onEvent: ledReporter(led.session.controller) });
    await finish(led);
    expect(result.outcome).toBe('success');
    expect(f.events.some((e) => e.type === 'waiting-for-lock')).toBe(true);

    const shown = led.stick.sequence(0).map(rgbText);
    const firstBlink = shown.indexOf(ATTENTION);
    const lastBlink = shown.lastIndexOf(ATTENTION);
    expect(firstBlink).toBeGreaterThan(0);
    // Working before the wait, then blinking: on, off, on again within the ~2 s the lock is held.
    expect(shown[1]).toBe(WORKING_FLOOR);
    expect(shown.slice(1, firstBlink).filter((c) => !PULSE_COLOURS.has(c))).toEqual([]);
    const blinking = shown.slice(firstBlink, lastBlink + 1);
    expect(blinking.filter((c) => c !== ATTENTION && c !== OFF)).toEqual([]);
    expect(blinking).toContain(OFF);
    expect(blinking.filter((c, i) => i > 0 && c === ATTENTION && blinking[i - 1] === OFF).length).toBeGreaterThanOrEqual(1);
    // Then (after the rest of the blink's dark half) back to the working pulse, and green at the end.
    const after = shown.slice(lastBlink + 1);
    const afterWorking = after.slice(after.findIndex((c) => c !== OFF), -1);
    expect(afterWorking[0]).toBe(WORKING_FLOOR);
    expect(afterWorking.filter((c) => !PULSE_COLOURS.has(c))).toEqual([]);
    expect(after.at(-1)).toBe(GREEN);
  });
});

describe('a BlinkStick unplugged and plugged back in', () => {
  it('is warned about once when it stops answering mid-job, and gets the current state again after it comes back, without a new event', async () => {
    const f = await setup({ hooks: { preBackup: 'sleep 1' } });
    const led = await startFakeLed({ pollMs: 50 });
    const reporter = ledReporter(led.session.controller);
    const events: { at: number; event: JobEvent }[] = [];
    let pluggedBackAt = Number.POSITIVE_INFINITY;
    const result = await f.run({
      onEvent: (event) => {
        events.push({ at: Date.now(), event });
        reporter(event);
        if (event.type === 'step-started' && event.step === 'pre-backup-hooks') {
          led.stick.unplug();
          setTimeout(() => {
            pluggedBackAt = Date.now();
            led.stick.plugIn();
          }, 300);
        }
      },
    });
    await finish(led);
    expect(result.outcome).toBe('success');

    const warned = warnings(led.logs);
    expect(warned).toHaveLength(1);
    expect(warned[0]?.msg).toContain('stopped answering');
    // Noticed by the read loop's error when the stick is pulled, or by the next write, whichever comes first.
    expect(warned[0]?.msg).toMatch(/could not (send feature report to|read from HID) device/);
    expect(led.logs.filter((l) => l.msg.startsWith('using BlinkStick'))).toHaveLength(2);

    // Redrawn within a few poll intervals of coming back, before the job said anything new.
    const hookDone = events.find((e) => e.event.type === 'step-finished' && e.event.step === 'pre-backup-hooks');
    const redrawn = led.stick.writesSince(pluggedBackAt);
    expect(redrawn.length).toBeGreaterThan(0);
    const first = redrawn[0];
    expect(first && rgbText(first.leds[0]?.colour ?? rgb(0, 0, 0))).toBe(WORKING_FLOOR);
    expect(first?.at).toBeLessThan(pluggedBackAt + 250);
    expect(first?.at).toBeLessThan(hookDone?.at ?? 0);
    expect(events.filter((e) => e.at >= pluggedBackAt && e.at <= (first?.at ?? 0))).toEqual([]);
    expect(rgbText(led.stick.colourOf(0))).toBe(GREEN);
    expect(led.stick.openHandles).toBe(0);
  });

  it('gets a steady colour again within the poll interval when it is plugged back in', async () => {
    const led = await startFakeLed({ pollMs: 50, settings: { pulse: false } });
    await led.session.controller.set('working');
    expect(rgbText(led.stick.colourOf(0))).toBe(WORKING_STEADY);
    led.stick.unplug();
    await sleep(100);
    led.stick.plugIn(); // powers up dark
    await sleep(300);
    expect(rgbText(led.stick.colourOf(0))).toBe(WORKING_STEADY);
  });

  it('still shows the final colour of a run when it was plugged back in during a steady colour', async () => {
    const led = await startFakeLed({ pollMs: 50, settings: { pulse: false } });
    await led.session.controller.set('working');
    led.stick.unplug();
    await sleep(100);
    led.stick.plugIn();
    await sleep(100);
    await led.session.controller.set('done');
    await finish(led); // what `plugback run` does right after the job-finished event
    expect(rgbText(led.stick.colourOf(0))).toBe(GREEN);
  });
});

describe('without a usable BlinkStick', () => {
  it('says "no BlinkStick found" once, stays quiet over many poll intervals, and leaves the job result alone', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }); // the stick poll and the animations only
    const f = await setup();
    const led = await startFakeLed({ stick: 'none' });
    const result = await f.run({ onEvent: ledReporter(led.session.controller) });
    await vi.advanceTimersByTimeAsync(5 * 2000);
    expect(led.transport.listCalls).toBeGreaterThanOrEqual(6);
    expect(led.logs.map((l) => l.msg)).toEqual(['no BlinkStick found; the LED stays dark until one is plugged in']);
    expect(result).toMatchObject({ outcome: 'success', warnings: [], undoErrors: [] });
    expect(result.snapshot).toBeDefined();
    expect(await fs.readFile(path.join(f.inSnapshot(result.snapshot as string), 'a.txt'), 'utf8')).toBe('some data\n');
  });

  it('warns once about a stick it cannot open, not at every poll', async () => {
    const led = await startFakeLed({
      pollMs: 50,
      stick: { openError: 'cannot open device with path /dev/hidraw0: Permission denied' },
    });
    await sleep(400);
    expect(led.transport.openCalls).toBeGreaterThanOrEqual(4);
    expect(warnings(led.logs).map((l) => l.msg)).toHaveLength(1);
  });
});

describe('read-back verification', () => {
  it('logs a warning naming both colours when the stick reports another colour than it was set to', async () => {
    const led = await startFakeLed({ stick: { liesWith: rgb(255, 0, 255) } });
    await led.session.controller.set('done');
    const mismatch = warnings(led.logs).filter((l) => l.msg.includes('{"r":0,"g":25,"b":0}'));
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]?.msg).toContain('{"r":255,"g":0,"b":255}');
    expect(mismatch[0]).toMatchObject({ expected: rgb(0, 25, 0), actual: rgb(255, 0, 255) });
  });
});

describe('a disabled LED', () => {
  it('gives no session and never looks at the USB bus', async () => {
    const transport = new FakeHidTransport(new FakeBlinkStick());
    const logs: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
    expect(await startLed(ledSchema.parse({ enabled: false }), log, transport)).toBeUndefined();
    expect(transport.listCalls).toBe(0);
    expect(transport.openCalls).toBe(0);
    expect(logs).toEqual([]);
  });
});
