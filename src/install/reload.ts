// Telling the running system about new files: only ever for the real root, never for a --root folder.
import { execa } from 'execa';

export interface Reloaded {
  systemd: boolean;
  udev: boolean;
}

/** systemctl daemon-reload (which also reruns the crypttab generator) and udev's rules, as needed. */
export async function reloadSystem(what: Reloaded): Promise<string[]> {
  const commands: string[][] = [];
  if (what.systemd) commands.push(['systemctl', 'daemon-reload']);
  if (what.udev) commands.push(['udevadm', 'control', '--reload-rules'], ['udevadm', 'trigger', '--subsystem-match=hidraw', '--subsystem-match=block', '--action=change']);
  const problems: string[] = [];
  for (const [command, ...args] of commands) {
    const result = await execa(command as string, args, { reject: false });
    if (result.exitCode !== 0) problems.push(`${[command, ...args].join(' ')} failed (${result.stderr.trim() || `exit ${result.exitCode}`}); run it by hand`);
  }
  return problems;
}
