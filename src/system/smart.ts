// Reads a disk's SMART health with smartctl (smartmontools). smartctl picks the device type itself (`-d auto`),
// and its drive database names the right one for most USB bridges (sat, usbjmicron, ...); an unknown bridge
// makes it stop with "Unknown USB bridge ... Please specify device type with the -d option". Most of those speak
// SAT, so plugback tries `-d sat` once; a bridge that passes no SMART through is then "unavailable", never a failure.
import { startProgram } from './spawn-program.js';
import { needsDeviceType, readSmartReport, type SmartReading } from './smart-report.js';

export type { SmartReading, SmartVerdict, SectorCounters } from './smart-report.js';

/** A stuck USB bridge can keep smartctl waiting; a healthy disk answers in well under a second. */
const SMARTCTL_TIMEOUT_MS = 60_000;

/** The SMART reading of `disk` (a whole disk, /dev/sdb); never throws for a disk that cannot be read. */
export async function readSmart(disk: string, signal?: AbortSignal): Promise<SmartReading> {
  const first = await smartctl(disk, [], signal);
  if ('missing' in first) return { verdict: 'unavailable', note: first.missing };
  if (!needsDeviceType(first.json, first.exitStatus)) return readSmartReport(first.json, first.exitStatus);
  const sat = await smartctl(disk, ['-d', 'sat'], signal);
  if ('missing' in sat) return { verdict: 'unavailable', note: sat.missing };
  const reading = readSmartReport(sat.json, sat.exitStatus);
  if (reading.verdict !== 'unavailable') return reading;
  // The first answer says why better ("Unknown USB bridge [0x152d:0x0578]") than -d sat's bare exit status.
  const why = readSmartReport(first.json, first.exitStatus).note;
  return { ...reading, note: `${why}; with -d sat: ${reading.note ?? 'no SMART either'}` };
}

type Run = { json: string; exitStatus: number } | { missing: string };

async function smartctl(disk: string, extra: string[], signal?: AbortSignal): Promise<Run> {
  const limit = AbortSignal.timeout(SMARTCTL_TIMEOUT_MS);
  const both = signal ? AbortSignal.any([signal, limit]) : limit;
  const { child, exit } = startProgram('smartctl', ['--json=c', '-H', '-i', '-A', ...extra, disk], { signal: both });
  let json = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (json += chunk));
  child.stderr?.resume();
  const ended = await exit;
  if (ended.code === 'ENOENT') return { missing: 'smartctl is not installed (apt install smartmontools)' };
  if (ended.code) return { missing: `smartctl could not be started: ${ended.code}` };
  if (ended.exitCode === undefined) {
    return { missing: limit.aborted ? `smartctl gave no answer about ${disk} within ${SMARTCTL_TIMEOUT_MS / 1000}s` : `smartctl was stopped (${ended.signal ?? 'cancelled'})` };
  }
  return { json, exitStatus: ended.exitCode };
}
