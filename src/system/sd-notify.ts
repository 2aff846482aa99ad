// sd_notify(3) for a Node.js process: Node has no unix datagram sockets, so we ask systemd-notify(1) to send
// the message on our behalf. With --pid it is attributed to us (the unit needs NotifyAccess=all, since the
// message comes from a child process).

/** Sends `fields` (READY=1, STATUS=..., STOPPING=1) to systemd when running as a Type=notify service; a no-op otherwise. */
export async function notifySystemd(fields: Record<string, string>): Promise<void> {
  if (!process.env.NOTIFY_SOCKET) return;
  const args = [`--pid=${process.pid}`, ...Object.entries(fields).map(([key, value]) => `${key}=${value}`)];
  // execa loaded when needed: some hundred modules a daemon at rest would otherwise keep in memory.
  const { execa } = await import('execa');
  await execa('systemd-notify', args, { reject: false, timeout: 5000 });
}
