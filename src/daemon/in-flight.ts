// The job in flight, recorded in <stateDir>/job-in-flight.json while it runs: which drive, which job, since
// when, by which daemon process (PID and boot), and the step it is at, rewritten at each step's start and
// removed when the job ends. A record found at start-up by another process means the daemon that wrote it
// died mid-job (crash, SIGKILL, power cut): src/daemon/crash-report.ts tells about it.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { StepName } from '../job/events.js';
import { fsyncDirectory, writeFileAtomic } from '../system/atomic-file.js';
import { bootId } from '../system/boot-id.js';
import type { JobSubscriber } from './job-runner.js';

export const IN_FLIGHT_FILE = 'job-in-flight.json';

export interface InFlightRecord {
  drive: string;
  jobId: string;
  startedAt: string;
  /** The daemon process running the job, and the boot it ran in (a PID means nothing after a reboot). */
  pid: number;
  bootId?: string | undefined;
  step?: StepName | undefined;
  stepStartedAt?: string | undefined;
}

export type InFlightFound = { kind: 'none' } | { kind: 'record'; record: InFlightRecord } | { kind: 'damaged'; why: string };

/** The record in `text`, or why it cannot be read (a power cut may leave anything). Never throws. */
export function parseInFlight(text: string): InFlightRecord | { damaged: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { damaged: `not JSON (${(error as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { damaged: 'not a JSON object' };
  const v = value as Record<string, unknown>;
  const text_ = (key: string, pattern: RegExp): string | undefined => (typeof v[key] === 'string' && pattern.test(v[key]) ? v[key] : undefined);
  const drive = text_('drive', /^[^\0]{1,200}$/);
  const jobId = text_('jobId', /^[0-9a-f-]{1,64}$/);
  const startedAt = text_('startedAt', /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  const pid = v.pid;
  if (!drive) return { damaged: 'no drive name' };
  if (!jobId || !startedAt || !Number.isSafeInteger(pid) || (pid as number) <= 0) return { damaged: `incomplete record for drive "${drive}"` };
  return {
    drive,
    jobId,
    startedAt,
    pid: pid as number,
    bootId: text_('bootId', /^[0-9a-f-]{1,64}$/),
    step: text_('step', /^[a-z][a-z-]{0,39}$/) as StepName | undefined,
    stepStartedAt: text_('stepStartedAt', /^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
  };
}

/** What is in `<stateDir>/job-in-flight.json`. */
export async function readInFlight(stateDir: string): Promise<InFlightFound> {
  let text: string;
  try {
    text = await readFile(path.join(stateDir, IN_FLIGHT_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'damaged', why: `cannot be read (${(error as Error).message})` };
  }
  const parsed = parseInFlight(text);
  return 'damaged' in parsed ? { kind: 'damaged', why: parsed.damaged } : { kind: 'record', record: parsed };
}

export async function removeInFlight(stateDir: string): Promise<void> {
  await rm(path.join(stateDir, IN_FLIGHT_FILE), { force: true });
  await fsyncDirectory(stateDir);
}


/**
 * Whether the daemon that wrote `record` is gone: another boot, a PID that is this process (which has run no job
 * yet when it asks), or a PID that is not alive as a plugback daemon.
 */
export async function writerIsGone(record: InFlightRecord): Promise<boolean> {
  const now = bootId();
  if (record.bootId && now && record.bootId !== now) return true;
  if (record.pid === process.pid) return true;
  const cmdline = await readFile(`/proc/${record.pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmdline === undefined) return true;
  const args = cmdline.split('\0');
  return !(args.includes('daemon') && args.some((a) => /plugback|main\.js$/.test(a)));
}

/**
 * The record's part in each job: written when the job has its id, rewritten at each step's start, removed when
 * the job has ended and been reported. Writes are queued one behind the other; a failed write is a warning, not
 * a reason to stop a backup.
 */
export function inFlightSubscriber(log: Logger): JobSubscriber {
  return (drive, config) => {
    const stateDir = config.stateDir;
    let record: InFlightRecord | undefined;
    let writes: Promise<void> = Promise.resolve();
    const queue = (what: string, work: () => Promise<void>) => {
      writes = writes.then(work).catch((error: unknown) => log.warn({ drive: drive.name }, `could not ${what} ${path.join(stateDir, IN_FLIGHT_FILE)}: ${(error as Error).message}`));
    };
    const write = () => {
      const content = `${JSON.stringify(record, null, 2)}\n`;
      // 0600: it is the daemon's own memory, like the ledger.
      queue('write', () => writeFileAtomic(path.join(stateDir, IN_FLIGHT_FILE), content, 0o600));
    };
    return {
      started: async () => {
        const boot = bootId();
        record = { drive: drive.name, jobId: '', startedAt: new Date().toISOString(), pid: process.pid, ...(boot ? { bootId: boot } : {}) };
      },
      event: (event) => {
        if (!record) return;
        if (event.type === 'job-started') {
          record = { ...record, jobId: event.jobId };
          write();
        } else if (event.type === 'step-started') {
          record = { ...record, step: event.step, stepStartedAt: new Date().toISOString() };
          write();
        }
      },
      ended: async () => {
        queue('remove', () => removeInFlight(stateDir));
        await writes;
      },
    };
  };
}
