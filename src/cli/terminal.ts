// How a job looks in a terminal: readable log lines and a progress bar on a TTY, JSON lines otherwise.
import type cliProgressTypes from 'cli-progress';
import { formatBytes, formatDuration } from '../config/units.js';
import type { JobListener } from '../job/events.js';
import type { LineSink } from '../job/job-log.js';

export interface JobConsole {
  sink: LineSink;
  onEvent: JobListener;
  /** Takes the progress bar down (when the job's end is known some other way than its events). */
  finish(): void;
}

/** The console for a job: a progress bar when stdout is a terminal, plain JSON log lines when it is not. */
export async function jobConsole(out: NodeJS.WriteStream = process.stdout): Promise<JobConsole> {
  if (!out.isTTY) {
    // A reader that goes away (`plugback run x | head`) must not kill a job halfway: the log on the drive goes on.
    let broken = false;
    out.on('error', () => (broken = true));
    return { sink: (line) => broken || out.write(line), onEvent: () => undefined, finish: () => undefined };
  }
  // Only a terminal needs these; loading them on demand keeps plain runs quick to start.
  const { default: cliProgress } = await import('cli-progress');
  const { default: pinoPretty } = await import('pino-pretty');
  const pretty = pinoPretty.prettyFactory({
    colorize: true,
    singleLine: true,
    translateTime: 'HH:MM:ss',
    ignore: 'pid,hostname,drive,job,command,steps,result,progress,kept,config,state,stream,hook,workDir,target,previous,snapshot,leftover',
  });
  let multi: cliProgressTypes.MultiBar | undefined;
  let bar: cliProgressTypes.SingleBar | undefined;
  const print = (text: string) => (multi ? multi.log(text.endsWith('\n') ? text : `${text}\n`) : out.write(text));
  const finish = () => {
    multi?.stop();
    multi = undefined;
    bar = undefined;
  };
  return {
    sink: (line) => print(pretty(line)),
    finish,
    onEvent: (event) => {
      if (event.type === 'progress') {
        const p = event.progress;
        if (!multi) {
          multi = new cliProgress.MultiBar(
            {
              stream: out,
              format: ' {bar} {percentage}% | {state} | {done} | {rate}/s | {left} left',
              hideCursor: true,
              clearOnComplete: false,
            },
            cliProgress.Presets.shades_classic,
          );
          bar = multi.create(100, 0);
        }
        bar?.update(Math.floor(p.percent), {
          state: p.stateCount > 1 ? `${p.state} (${p.stateIndex}/${p.stateCount})` : p.state,
          done: formatBytes(p.bytes),
          rate: formatBytes(p.rate),
          left: p.etaSeconds === undefined ? '?' : formatDuration(p.etaSeconds * 1000),
        });
      } else if (event.type === 'step-finished' && event.step === 'sync') {
        bar?.update(100);
      } else if (event.type === 'step-failed' || event.type === 'job-finished' || (event.type === 'step-started' && event.step !== 'sync')) {
        finish();
      }
    },
  };
}
