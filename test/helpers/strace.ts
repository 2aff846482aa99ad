// Reading `strace -f -y -o FILE` output as a list of system calls in the order they began, for tests that check the
// order of flushes and renames. A call split by another thread (`<unfinished ...>`) counts where it began; a read's
// data shows only once it is resumed, so a resumed read counts there. Failed calls (`= -1 ...`) are left out.

export interface TraceEvent {
  pid: number;
  call: string;
  /** The argument text as strace printed it (paths quoted). */
  args: string;
  /** With -y: the path (or socket) of the first descriptor argument. */
  fdPath?: string | undefined;
  line: string;
}

const CALL = /^(\d+)\s+(\w+)\((.*?)(?:\s+<unfinished \.\.\.>|\)\s+=\s+(.*))$/;
const RESUMED = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*?)\)\s+=\s+(.*)$/;

export function parseTrace(text: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (const line of text.split('\n')) {
    const call = CALL.exec(line);
    const resumed = call ? undefined : RESUMED.exec(line);
    const [, pid, name, args, result] = call ?? (resumed?.[2] === 'read' ? resumed : []);
    if (!pid || !name || (result ?? '').startsWith('-1')) continue;
    if (call && name === 'read' && result === undefined) continue; // counted when resumed, with its data
    events.push({ pid: Number(pid), call: name, args: args ?? '', fdPath: /^\d+<([^>]*)>/.exec(args ?? '')?.[1], line });
  }
  return events;
}
