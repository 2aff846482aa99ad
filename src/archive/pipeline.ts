// A chain of processes (tar | zstd | gpg, or gpg -d | zstd -d | tar -x) joined by pipes, with one owner for
// their lives: when one fails, or the caller cancels, every other one is killed and waited for, so nothing is
// left writing. The last process writes into a pipe that this process copies into the output file; if this
// process dies (even by SIGKILL) that pipe breaks and the chain dies of SIGPIPE instead of finishing a file
// nobody will rename.
import { spawn, type ChildProcess } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { quoteOutput } from '../system/program-output.js';

export interface Stage {
  /** What messages call it: "tar", "zstd", "gpg". */
  name: string;
  command: string;
  args: string[];
}

export interface PipelineOptions {
  /** The first stage's stdin: an open file's descriptor, or nothing. */
  input?: number | undefined;
  /** Where the last stage's stdout goes; without it, the last stage's stdout is discarded. */
  output?: FileHandle | undefined;
  signal?: AbortSignal | undefined;
  /** Bytes written to `output` so far, after every write. */
  onBytes?: ((total: number) => void) | undefined;
  /** At most this many bytes a second into `output`; the pipes' back-pressure slows the whole chain down. */
  bytesPerSecond?: number | undefined;
  /** Shows paths as people know them in messages (pinned /proc paths replaced). */
  readable?: ((text: string) => string) | undefined;
}

export class PipelineError extends Error {
  constructor(
    message: string,
    readonly cancelled: boolean,
  ) {
    super(message);
    this.name = 'PipelineError';
  }
}

interface Running {
  stage: Stage;
  child: ChildProcess;
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
}

const STDERR_CAP = 8192;

/** Runs the chain to the end; resolves with the bytes written to `output`, throws PipelineError naming the first stage that failed. */
export async function runPipeline(stages: Stage[], options: PipelineOptions = {}): Promise<number> {
  if (stages.length === 0) throw new Error('internal error: an empty pipeline');
  const running: Running[] = [];
  let previous: Readable | undefined;
  for (const [index, stage] of stages.entries()) {
    const last = index === stages.length - 1;
    const stdin = previous ?? (options.input ?? 'ignore');
    const stdout = last && !options.output ? 'ignore' : 'pipe';
    const child = spawn(stage.command, stage.args, { stdio: [stdin, stdout, 'pipe'] });
    // The child has its own copy of the pipe now; ours must go, or a reader that dies would not be noticed upstream.
    previous?.destroy();
    previous = child.stdout ?? undefined;
    running.push(watch(stage, child));
  }

  let cancelled = false;
  const killAll = () => {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
  };
  const onAbort = () => {
    cancelled = true;
    killAll();
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  // A stage that fails takes the others down at once (tar keeps reading a whole snapshot otherwise).
  for (const r of running) void r.exit.then((e) => (e.code !== 0 || e.error ? killAll() : undefined));

  let written = 0;
  let copyError: Error | undefined;
  const copy = options.output && previous ? copyInto(previous, options.output, options, (n) => (written = n)).catch((e: Error) => {
    copyError = e;
    killAll();
  }) : Promise.resolve();
  const exits = await Promise.all(running.map((r) => r.exit));
  await copy;
  options.signal?.removeEventListener('abort', onAbort);

  const show = options.readable ?? ((t: string) => t);
  if (cancelled) throw new PipelineError('cancelled: every process of the archive was stopped', true);
  if (copyError) throw new PipelineError(`could not write the output file: ${copyError.message}`, false);
  // The first failure in the chain is the cause; the ones after it usually only saw their input end.
  for (const [index, e] of exits.entries()) {
    const r = running[index] as Running;
    if (e.error) {
      const missing = (e.error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new PipelineError(missing ? `${r.stage.command} is not installed (needed for ${r.stage.name})` : `${r.stage.name} could not start: ${e.error.message}`, false);
    }
    if (e.code !== 0) {
      const said = show(r.stderr.trim()).split('\n').slice(-4);
      const how = e.code === null ? `was killed by ${e.signal ?? 'a signal'}` : `exited with code ${e.code}`;
      // Quoted, so publicReason() keeps what a program printed (paths, file names) out of the D-Bus API.
      throw new PipelineError(`${r.stage.name} ${how}${said.join('') ? `; ${quoteOutput(said)}` : ''}`, false);
    }
  }
  return written;
}

function watch(stage: Stage, child: ChildProcess): Running {
  const r: Running = { stage, child, stderr: '', exit: Promise.resolve({ code: 0, signal: null }) };
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    r.stderr = (r.stderr + chunk).slice(-STDERR_CAP);
  });
  r.exit = new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return r;
}

/** Copies the chain's output into the file, pacing it when a limit is set. */
async function copyInto(from: Readable, to: FileHandle, options: PipelineOptions, count: (n: number) => void): Promise<void> {
  const started = Date.now();
  let total = 0;
  for await (const chunk of from) {
    const buffer = chunk as Buffer;
    let offset = 0;
    while (offset < buffer.length) offset += (await to.write(buffer, offset, buffer.length - offset)).bytesWritten;
    total += buffer.length;
    count(total);
    options.onBytes?.(total);
    if (options.bytesPerSecond) {
      const due = started + (total / options.bytesPerSecond) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
