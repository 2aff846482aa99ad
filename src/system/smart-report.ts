// What one `smartctl --json` report says about a disk's health. Pure: the JSON and the exit status in, a reading out.
// smartctl's exit status is a bit mask (smartctl(8) RETURN VALUES, smartctl.h): bit 0 the command line did not
// parse or the device type is unknown, bit 1 the device could not be opened, bit 2 a SMART command failed,
// bit 3 SMART status "disk failing", bits 4/5 attributes at or below their threshold (now / in the past),
// bits 6/7 errors in the error / self-test log. Only bit 3 (or smart_status.passed false) is a failing verdict;
// the rest is either "could not read" or what the counters below already tell.
import { z } from '../config/zod.js';

export type SmartVerdict = 'passed' | 'failed' | 'unavailable';

/** The counters that only grow on a disk that is going bad; absent when the disk does not report them. */
export interface SectorCounters {
  /** ATA 5 Reallocated_Sector_Ct. */
  reallocated?: number | undefined;
  /** ATA 197 Current_Pending_Sector. */
  pending?: number | undefined;
  /** ATA 198 Offline_Uncorrectable. */
  offlineUncorrectable?: number | undefined;
  /** NVMe media_errors. */
  mediaErrors?: number | undefined;
}

export interface SmartReading extends SectorCounters {
  verdict: SmartVerdict;
  /** Why there is no verdict, or what else smartctl said. */
  note?: string | undefined;
  model?: string | undefined;
  serial?: string | undefined;
}

// Only what plugback reads; every other field of smartctl's (large) report is let through unlooked-at.
const reportSchema = z.object({
  smartctl: z.object({ messages: z.array(z.object({ string: z.string() })).optional() }).optional(),
  device: z.object({ type: z.string().optional() }).optional(),
  model_name: z.string().optional(),
  serial_number: z.string().optional(),
  smart_status: z.object({ passed: z.boolean() }).optional(),
  ata_smart_attributes: z.object({ table: z.array(z.object({ id: z.number(), raw: z.object({ value: z.number() }) })) }).optional(),
  nvme_smart_health_information_log: z.object({ media_errors: z.number().optional() }).optional(),
});

// The sandbox of plugback's units (DevicePolicy=closed) makes opening the raw disk fail with EPERM; a user who
// is not root gets EACCES.
const NO_ACCESS = /open device: .* failed: (Operation not permitted|Permission denied)/;
const NO_ACCESS_HINT = "reading SMART needs the raw disk: root outside the sandbox of plugback's units, e.g. sudo plugback run DRIVE (docs/health.md)";

const DISK_FAILING = 1 << 3;
const OPEN_FAILED = 1 << 1;
const COMMAND_LINE = 1 << 0;

/** Whether smartctl did not know how to talk to the device (an unknown USB bridge): worth a try with `-d sat`. */
export function needsDeviceType(json: string, exitStatus: number): boolean {
  if ((exitStatus & COMMAND_LINE) === 0) return false;
  return /Unknown USB bridge|specify device type|Unable to detect device type/i.test(messagesOf(json).join('\n'));
}

/** The reading in smartctl's JSON report (stdout) with its exit status. */
export function readSmartReport(json: string, exitStatus: number): SmartReading {
  let parsed: z.infer<typeof reportSchema>;
  try {
    parsed = reportSchema.parse(JSON.parse(json));
  } catch {
    return { verdict: 'unavailable', note: `smartctl printed no report plugback could read (exit status ${exitStatus})` };
  }
  const said = messagesOf(json).join('; ');
  const identity = { model: parsed.model_name, serial: parsed.serial_number };
  const failing = parsed.smart_status?.passed === false || (exitStatus & DISK_FAILING) !== 0;
  if (failing) return { verdict: 'failed', ...identity, ...countersOf(parsed), ...(said ? { note: said } : {}) };
  if (parsed.smart_status?.passed === true) return { verdict: 'passed', ...identity, ...countersOf(parsed), ...(said ? { note: said } : {}) };
  const why = said || ((exitStatus & (OPEN_FAILED | COMMAND_LINE)) !== 0 ? `smartctl could not read it (exit status ${exitStatus})` : 'the disk reported no SMART status');
  return { verdict: 'unavailable', ...identity, note: NO_ACCESS.test(said) ? `${why} (${NO_ACCESS_HINT})` : why };
}

function countersOf(report: z.infer<typeof reportSchema>): SectorCounters {
  const raw = (id: number) => report.ata_smart_attributes?.table.find((a) => a.id === id)?.raw.value;
  const counters: SectorCounters = { reallocated: raw(5), pending: raw(197), offlineUncorrectable: raw(198), mediaErrors: report.nvme_smart_health_information_log?.media_errors };
  return Object.fromEntries(Object.entries(counters).filter(([, v]) => v !== undefined));
}

function messagesOf(json: string): string[] {
  try {
    const parsed = reportSchema.shape.smartctl.parse((JSON.parse(json) as { smartctl?: unknown }).smartctl);
    return parsed?.messages?.map((m) => m.string) ?? [];
  } catch {
    return [];
  }
}
