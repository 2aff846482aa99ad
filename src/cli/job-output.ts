// What `run --json` and `run --quiet` (and restore's) print instead of the terminal's view of a job:
// --json: one JSON object per line (docs/json.md: log lines, the job's events, progress at most once a second,
// the result last); --quiet: nothing but warnings and errors, as plain sentences on stderr (a cron job's mail).
import type { JobEvent, JobListener, SyncProgress } from '../job/events.js';
import type { LineSink } from '../job/job-log.js';

/** The `format` of every JSON line and document plugback prints (docs/json.md says what bumps it). */
export const JSON_FORMAT = 1;

export interface JobOutput {
  sink: LineSink;
  onEvent: JobListener;
  /** Writes one JSON line (json mode) of the given type; ignored when quiet. */
  line(type: string, fields: Record<string, unknown>): void;
}

/** pino's numeric levels by name, as the JSON lines carry them. */
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Fields of a log line worth passing on beside the message (the rest is the drive log's business). */
const KEPT = ['drive', 'component', 'step', 'state', 'hook', 'stream'] as const;

interface PinoLine {
  level?: number;
  time?: string;
  msg?: string;
  [key: string]: unknown;
}

function parse(line: string): PinoLine | undefined {
  try {
    return JSON.parse(line) as PinoLine;
  } catch {
    return undefined;
  }
}

/** A writer that ignores a reader gone away (`plugback run x --json | head`): the job goes on. */
export function safeWriter(out: NodeJS.WriteStream): (text: string) => void {
  let broken = false;
  out.on('error', () => (broken = true));
  return (text) => {
    if (!broken) out.write(text);
  };
}

/** JSON lines on `out`: every log line as type "log", the job's events, the result (from job-finished) last. */
export function jsonLinesOutput(out: NodeJS.WriteStream = process.stdout): JobOutput {
  const write = safeWriter(out);
  const line = (type: string, fields: Record<string, unknown>) => write(`${JSON.stringify({ format: JSON_FORMAT, type, time: new Date().toISOString(), ...fields })}\n`);
  let lastProgress = 0;
  let pending: SyncProgress | undefined;
  const progress = (p: SyncProgress) => line('progress', { state: p.state, stateIndex: p.stateIndex, stateCount: p.stateCount, bytes: p.bytes, percent: p.percent, bytesPerSecond: p.rate, etaSeconds: p.etaSeconds ?? null });
  const flushProgress = () => {
    if (pending) progress(pending);
    pending = undefined;
  };
  return {
    line,
    sink: (text) => {
      const parsed = parse(text);
      // The job's final log line repeats the result, which comes as its own line.
      if (!parsed || parsed.result !== undefined) return;
      const kept = Object.fromEntries(KEPT.filter((k) => typeof parsed[k] === 'string').map((k) => [k, parsed[k]]));
      write(`${JSON.stringify({ format: JSON_FORMAT, type: 'log', time: parsed.time, level: LEVELS[parsed.level ?? 30] ?? 'info', message: parsed.msg ?? '', ...kept })}\n`);
    },
    onEvent: (event: JobEvent) => {
      // Which postBackup hooks a second Ctrl-C would skip: for the CLI's own message, not a documented line.
      if (event.type === 'post-hooks-owed') return;
      if (event.type === 'progress') {
        // rsync reports many times a second; a script needs a figure now and then, and the last one.
        const now = Date.now();
        if (now - lastProgress >= 1000) {
          lastProgress = now;
          pending = undefined;
          progress(event.progress);
        } else pending = event.progress;
        return;
      }
      flushProgress();
      if (event.type === 'job-finished') line('result', { result: event.result });
      else {
        const { type, ...fields } = event;
        line(type, fields);
      }
    },
  };
}

/** --quiet: warnings and errors only, one plain line each on stderr; nothing at all when all went well. */
export function quietOutput(err: NodeJS.WriteStream = process.stderr): JobOutput {
  const write = safeWriter(err);
  return {
    line: () => undefined,
    onEvent: () => undefined,
    sink: (text) => {
      const parsed = parse(text);
      if (!parsed || (parsed.level ?? 30) < 40 || saidAgainLater(parsed)) return;
      const where = typeof parsed.component === 'string' ? `${parsed.component}: ` : '';
      write(`plugback: ${where}${parsed.msg ?? ''}\n`);
    },
  };
}

/**
 * Lines the quiet output leaves out because another line says the same: a failed step's line (the result line
 * says it again, naming the drive), and the result line of a run with warnings (each warning had its own line).
 */
function saidAgainLater(line: Record<string, unknown>): boolean {
  const result = line.result as { outcome?: string } | undefined;
  if (result?.outcome === 'warning') return true;
  return typeof line.step === 'string' && typeof line.msg === 'string' && line.msg.startsWith(`failed at ${line.step}: `);
}
