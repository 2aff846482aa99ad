// Telling the running system about new files: only ever for the real root, never for a --root folder.
import { execa } from 'execa';

export interface Reloaded {
  systemd: boolean;
  udev: boolean;
}

/** The scheduled drives' timers install wrote (to start now) or took away (to stop: systemd keeps running a removed unit). */
export interface TimerChanges {
  enable: string[];
  stop: string[];
}

/** systemctl daemon-reload (which also reruns the crypttab generator) and udev's rules, as needed; then the timers. */
export async function reloadSystem(what: Reloaded, timers: TimerChanges = { enable: [], stop: [] }): Promise<string[]> {
  const commands: string[][] = [];
  if (what.systemd) commands.push(['systemctl', 'daemon-reload']);
  if (timers.stop.length > 0) commands.push(['systemctl', 'stop', '--', ...timers.stop]);
  // The link in timers.target.wants is written already; enable finds it in place and --now starts the timer.
  if (timers.enable.length > 0) commands.push(['systemctl', 'enable', '--now', '--', ...timers.enable]);
  if (what.udev) commands.push(['udevadm', 'control', '--reload-rules'], ['udevadm', 'trigger', '--subsystem-match=hidraw', '--subsystem-match=block', '--action=change']);
  const problems: string[] = [];
  for (const [command, ...args] of commands) {
    const result = await execa(command as string, args, { reject: false });
    if (result.exitCode !== 0) problems.push(`${[command, ...args].join(' ')} failed (${result.stderr.trim() || `exit ${result.exitCode}`}); run it by hand`);
  }
  return problems;
}
