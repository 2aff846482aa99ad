// Everything plugback knows about rsync: the command line, its progress output and its exit codes.

export interface RsyncOptions {
  /** Absolute source folders; copied with --relative so each lands at <dest>/<its absolute path>. */
  sources: string[];
  dest: string;
  /** The same state's directory in the previous complete snapshot: unchanged files become hard links to it. */
  linkDest?: string | undefined;
  excludes: string[];
  bandwidthLimitBytes?: number | undefined;
  xattrs: boolean;
  acls: boolean;
  /** Compare modification times to the nanosecond: an edit that keeps the size within the same second is still copied. */
  fineTimes?: boolean;
}

/**
 * rsync's arguments for one state. --delete only ever acts inside the new snapshot (it matters when resuming).
 * Never --inplace, not even into a btrfs snapshot: with -H it writes a changed file through every name of a
 * destination file that was hard-linked, so a link the source split up gets the new content twice (rsync 3.5.0).
 */
export function rsyncArgs(o: RsyncOptions): string[] {
  const args = ['-aHS', '--numeric-ids', '--relative', '--delete', '--delete-excluded'];
  if (o.acls) args.push('-A');
  if (o.xattrs) args.push('-X');
  // Only where the target keeps sub-second times; elsewhere every file would look changed on every run.
  if (o.fineTimes) args.push('--modify-window=-1');
  // progress2: one overall progress line; --no-h: plain digits to parse; --stats: the totals for the record.
  args.push('--info=progress2', '--no-h', '--stats');
  if (o.linkDest) args.push(`--link-dest=${o.linkDest}`);
  if (o.bandwidthLimitBytes) args.push(`--bwlimit=${Math.max(1, Math.round(o.bandwidthLimitBytes / 1024))}`);
  for (const pattern of o.excludes) args.push(`--exclude=${pattern}`);
  // A trailing slash copies the folder's contents under its own path (with --relative), keeping its metadata.
  args.push('--', ...o.sources.map((s) => (s === '/' ? '/' : `${s}/`)), o.dest.endsWith('/') ? o.dest : `${o.dest}/`);
  return args;
}

export interface Priority {
  nice: number;
  ioClass: 'idle' | 'best-effort' | 'none';
  ioPriority: number;
}

/** Wraps a command in ionice and nice so the backup yields to everything else on the machine. */
export function withLowPriority(command: string, args: string[], p: Priority): { command: string; args: string[] } {
  let argv = [command, ...args];
  if (p.nice !== 0) argv = ['nice', '-n', String(p.nice), ...argv];
  if (p.ioClass === 'idle') argv = ['ionice', '-c', '3', ...argv];
  else if (p.ioClass === 'best-effort') argv = ['ionice', '-c', '2', '-n', String(p.ioPriority), ...argv];
  return { command: argv[0] as string, args: argv.slice(1) };
}

export interface RsyncProgress {
  bytes: number;
  percent: number;
  /** Bytes per second, as rsync reports it. */
  rate: number;
  /** Seconds left, when rsync can tell. */
  etaSeconds?: number | undefined;
}

// "\r       30000000  99%  211.70MB/s    0:00:00 (xfr#1, to-chk=1/6)" (--no-h), see rsync's progress.c.
const PROGRESS_LINE = /^\s*(\d+)\s+(\d+)%\s+([\d.]+)(B|kB|MB|GB|TB)\/s\s+(\d+:\d{2}:\d{2}|\?\?:\?\?:\?\?)/;
const RATE_UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** Parses one progress2 update, or returns undefined for any other line. */
export function parseProgressLine(line: string): RsyncProgress | undefined {
  const m = PROGRESS_LINE.exec(line);
  if (!m) return undefined;
  const [, bytes, percent, rate, unit, eta] = m as unknown as [string, string, string, string, string, string];
  let etaSeconds: number | undefined;
  // At the end of each file (the "(xfr#..." tail) rsync prints the time elapsed instead of the time left.
  if (!eta.startsWith('?') && !line.includes('(xfr#')) {
    const [h, mi, s] = eta.split(':').map(Number) as [number, number, number];
    etaSeconds = h * 3600 + mi * 60 + s;
  }
  return { bytes: Number(bytes), percent: Number(percent), rate: Number(rate) * (RATE_UNITS[unit] ?? 1), etaSeconds };
}

/**
 * Splits rsync's stdout into progress updates and other lines, in constant memory: progress2 separates its
 * updates with \r and the closing statistics with \n; only the partial last line is buffered (and capped).
 */
export class RsyncOutputSplitter {
  private pending = '';

  constructor(
    private readonly onProgress: (p: RsyncProgress) => void,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: string): void {
    const parts = (this.pending + chunk).split(/[\r\n]/);
    this.pending = (parts.pop() ?? '').slice(-4096);
    // rsync prints an update at the end of every file: tens of thousands per run. Only the newest one in a
    // chunk is worth parsing; the CPU saved goes to rsync, which on two cores is short of it.
    let newest: string | undefined;
    for (const part of parts) {
      if (/^\s*\d/.test(part)) newest = part;
      else if (part.trim() !== '') this.handle(part);
    }
    if (newest !== undefined) this.handle(newest);
  }

  end(): void {
    if (this.pending) this.handle(this.pending);
    this.pending = '';
  }

  private handle(line: string): void {
    if (line.trim() === '') return;
    const progress = parseProgressLine(line);
    if (progress) this.onProgress(progress);
    else this.onLine(line);
  }
}

export interface RsyncStats {
  /** Regular files in the source. */
  files: number;
  /** Every entry in the source's file list (files, directories, links, devices). */
  entries: number;
  /** Total size of the source's files. */
  bytes: number;
  /** Bytes of the files rsync copied. */
  transferredBytes: number;
}

/** Reads the totals from rsync's --stats lines (printed with --no-h, so without thousands separators). */
export function parseRsyncStats(lines: readonly string[]): RsyncStats | undefined {
  const find = (re: RegExp) => {
    for (const line of lines) {
      const m = re.exec(line);
      if (m) return m;
    }
    return undefined;
  };
  const count = find(/^Number of files: (\d+)(?: \((.*)\))?/);
  const size = find(/^Total file size: (\d+) bytes/);
  if (!count || !size) return undefined;
  const reg = /reg: (\d+)/.exec(count[2] ?? '');
  const transferred = find(/^Total transferred file size: (\d+) bytes/);
  return {
    entries: Number(count[1]),
    files: reg ? Number(reg[1]) : 0,
    bytes: Number(size[1]),
    transferredBytes: transferred ? Number(transferred[1]) : 0,
  };
}

/** What changed against the --link-dest folder: files rsync created there, and files it copied (new or changed). */
export interface RsyncChanges {
  createdFiles: number;
  copiedFiles: number;
}

/** Reads the created and transferred counts of regular files from rsync's --stats lines. */
export function parseRsyncChanges(lines: readonly string[]): RsyncChanges {
  let createdFiles = 0;
  let copiedFiles = 0;
  for (const line of lines) {
    const created = /^Number of created files: (\d+)(?: \((.*)\))?/.exec(line);
    // "(reg: 4, dir: 1)": only regular files; with no breakdown rsync created none or only one kind.
    if (created) createdFiles = Number(/reg: (\d+)/.exec(created[2] ?? '')?.[1] ?? (created[2] ? 0 : created[1]));
    const copied = /^Number of regular files transferred: (\d+)/.exec(line);
    if (copied) copiedFiles = Number(copied[1]);
  }
  return { createdFiles, copiedFiles };
}

export type RsyncOutcome =
  | { kind: 'ok' }
  | { kind: 'warning'; code: 23 | 24; meaning: string }
  | { kind: 'failed'; code: number; meaning: string };

const MEANINGS: Record<number, string> = {
  1: 'syntax or usage error',
  2: 'protocol incompatibility',
  3: 'errors selecting input/output files or directories',
  4: 'requested action not supported (an option this rsync or file system cannot do)',
  5: 'error starting client-server protocol',
  10: 'error in socket I/O',
  11: 'error in file I/O (is the drive full or failing?)',
  12: 'error in rsync protocol data stream',
  13: 'errors with program diagnostics',
  14: 'error in IPC code',
  15: 'sibling process crashed',
  16: 'sibling process terminated abnormally',
  19: 'received SIGUSR1',
  20: 'stopped by a signal (SIGINT, SIGTERM or SIGHUP)',
  21: 'some error returned by waitpid()',
  22: 'error allocating core memory buffers',
  23: 'completed with errors: some files or attributes were not transferred',
  24: 'completed, but some source files vanished while it ran',
  25: 'the --max-delete limit stopped deletions',
  30: 'timeout in data send/receive',
  35: 'timeout waiting for daemon connection',
  127: 'rsync, nice or ionice was not found: install rsync and util-linux',
};

/** What an rsync exit code means for the snapshot: 24 is a warning, 23 "completed with errors", the rest fail. */
export function classifyRsyncExit(code: number): RsyncOutcome {
  if (code === 0) return { kind: 'ok' };
  const meaning = MEANINGS[code] ?? `unknown exit code ${code}`;
  if (code === 23 || code === 24) return { kind: 'warning', code, meaning };
  return { kind: 'failed', code, meaning };
}
