// Calls plugback's D-Bus API from a separate process (api-call.mjs), as root or as another user: the caller
// polkit and the bus see is then not the test itself.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { UnprivilegedCopy } from './unprivileged-copy.js';

const execFileP = promisify(execFile);

export interface CallResult {
  ok: boolean;
  body?: unknown[];
  error?: string;
  text?: string;
}

export interface CallOptions {
  iface?: string;
  uid?: number;
}

/** One call to the daemon on the bus at `address`; `uid` runs the caller as that user (and its own group number). */
export async function callApi(copy: UnprivilegedCopy, address: string, member: string, signature = '', args: unknown[] = [], options: CallOptions = {}): Promise<CallResult> {
  const { stdout } = await execFileP(process.execPath, [copy.apiCall, address, options.iface ?? 'io.github.plugback.Daemon1', member, signature, JSON.stringify(args)], {
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
  });
  return JSON.parse(stdout.trim()) as CallResult;
}
