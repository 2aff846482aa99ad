// How a job looks in a terminal: readable log lines and one status line with the job's progress on a TTY, JSON
// lines otherwise. Used by `plugback run` and `plugback restore`.
import type { JobListener } from '../job/events.js';
import type { LineSink } from '../job/job-log.js';
import { markedHookLine } from '../system/hooks.js';
import { ProgressFigure } from '../job/progress-figure.js';
import { bar, StatusLine } from './status-line.js';

export interface JobConsole {
  sink: LineSink;
  onEvent: JobListener;
  /** A sentence of plugback's own (a cancel, a summary line): above the status line on a TTY, on stderr otherwise. */
  notice(text: string): void;
  /** Takes the status line down (when the job's end is known some other way than its events). */
  finish(): void;
}

/** Fields shown by other means, or of no use to a person reading along. */
const HIDDEN =
  'pid,hostname,drive,job,command,steps,result,progress,kept,config,state,stream,hook,hookTag,workDir,target,previous,snapshot,leftover,err,stepFailed';

/** The console for a job: a status line when stdout is a terminal, plain JSON log lines when it is not. */
export async function jobConsole(out: NodeJS.WriteStream = process.stdout): Promise<JobConsole> {
  if (!out.isTTY) {
    // A reader that goes away (`plugback run x | head`) must not kill a job halfway: the log on the drive goes on.
    let broken = false;
    out.on('error', () => (broken = true));
    return {
      sink: (line) => broken || out.write(line),
      onEvent: () => undefined,
      notice: (text) => process.stderr.write(`${text}\n`),
      finish: () => undefined,
    };
  }
  // Only a terminal needs it; loading it on demand keeps plain runs quick to start.
  const { default: pinoPretty } = await import('pino-pretty');
  const pretty = pinoPretty.prettyFactory({
    colorize: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: HIDDEN,
    messageFormat: (entry, key) => markedHookLine(entry, typeof entry[key] === 'string' ? entry[key] : ''),
  });
  const status = new StatusLine(out);
  let figure = new ProgressFigure();
  return {
    sink: (line) => told(line) || status.log(pretty(line)),
    notice: (text) => status.log(text),
    finish: () => status.clear(),
    onEvent: (event) => {
      if (event.type === 'progress') {
        status.show(` ${bar(event.progress.percent)} ${figure.line(event.progress)}`);
      } else if (event.type === 'step-failed' || event.type === 'job-finished' || (event.type === 'step-started' && event.step !== 'sync' && event.step !== 'restore-copy')) {
        status.clear();
        figure = new ProgressFigure();
      }
    },
  };
}

/**
 * Whether the closing summary tells this line again: the step's failure and the job's result line. A person reads
 * the cause once, at the end, with its hint; the log on the drive and the JSON lines keep both.
 */
function told(line: string): boolean {
  try {
    const entry = JSON.parse(line) as { stepFailed?: unknown; result?: unknown };
    return entry.stepFailed === true || entry.result !== undefined;
  } catch {
    return false;
  }
}
