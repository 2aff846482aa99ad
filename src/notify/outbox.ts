// Mail waiting to be sent, kept as files in stateDir/outbox/ so a mail server that is down, a crash or a
// restart loses nothing: each plugback process (daemon or `plugback run`) retries what it finds there.
// A power cut: a queued mail is on disk before add() returns; a sent one is removed, and the removal flushed, right
// after the server's reply, so only a cut in that window (milliseconds) sends it again after the boot. A claim left by
// an earlier boot is always taken back: its PID may belong to another process now (even to this one).
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { ensureDirDurable, fsyncDirectory, writeFileAtomic } from '../system/atomic-file.js';
import { bootId } from '../system/boot-id.js';
import type { MailMessage } from './mail-message.js';

interface Entry {
  id: string;
  queuedAt: string;
  attempts: number;
  nextAttemptAt: string;
  lastError?: string | undefined;
  message: MailMessage;
}

export interface DeliveryPass {
  sent: number;
  /** Mail still waiting (not counting mail given up on). */
  left: number;
  /** When the earliest waiting mail is due again. */
  nextAttemptAt?: Date | undefined;
}

const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_MS = 3_600_000;
const CLAIM = '.sending-';
let sequence = 0;

/** This boot's id in a claim's name (dashes dropped): a claim from an earlier boot is known as such. */
function claimBootId(): string {
  return bootId()?.replaceAll('-', '') ?? 'unknown';
}

/** After n failed attempts: 30s, 1m, 2m, ... at most an hour. */
export function retryDelay(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS);
}

export class Outbox {
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly send: (message: MailMessage) => Promise<void>,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    private readonly bootId: string = claimBootId(),
  ) {}

  /** Keeps `message` on disk until it is sent; returns its id. */
  async add(message: MailMessage): Promise<string> {
    await ensureDirDurable(this.dir, 0o700);
    const now = this.now();
    // Sorted by name, the ids give the order the mails were queued in (also within one millisecond).
    const id = `${now.getTime()}-${String(sequence++).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
    const entry: Entry = { id, queuedAt: now.toISOString(), attempts: 0, nextAttemptAt: now.toISOString(), message };
    await writeFileAtomic(this.fileOf(id), `${JSON.stringify(entry)}\n`, 0o600);
    return id;
  }

  /** The ids of the mail waiting, oldest first. */
  async waiting(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length)).sort();
  }

  /**
   * Tries each mail that is due (every mail when `all`), one at a time. Passes in one process never overlap, and a
   * mail being sent by another process is left to it (claimed by renaming its file).
   */
  deliver(all = false): Promise<DeliveryPass> {
    const pass = this.busy.then(() => this.pass(all));
    this.busy = pass.catch(() => undefined);
    return pass;
  }

  private async pass(all: boolean): Promise<DeliveryPass> {
    await this.reclaimAbandoned();
    let sent = 0;
    let left = 0;
    let next: number | undefined;
    for (const id of await this.waiting()) {
      const entry = await this.claim(id);
      if (!entry) continue;
      if (!all && Date.parse(entry.nextAttemptAt) > this.now().getTime()) {
        await this.release(entry);
        left++;
        next = Math.min(next ?? Infinity, Date.parse(entry.nextAttemptAt));
        continue;
      }
      try {
        await this.send(entry.message);
        // At once, before anything else: the window in which a power cut makes this mail go twice.
        await this.removeClaim(id);
        sent++;
        this.log.info({ mail: id, subject: entry.message.subject, attempts: entry.attempts + 1 }, `mail sent: ${entry.message.subject}`);
      } catch (error) {
        const reason = (error as Error).message;
        entry.attempts++;
        entry.lastError = reason;
        if (isPermanent(error)) {
          await this.giveUp(entry);
          continue;
        }
        const due = this.now().getTime() + retryDelay(entry.attempts);
        entry.nextAttemptAt = new Date(due).toISOString();
        await this.release(entry);
        left++;
        next = Math.min(next ?? Infinity, due);
        this.log.warn(
          { mail: id, attempts: entry.attempts, nextAttemptAt: entry.nextAttemptAt },
          `${reason}; the mail stays in ${this.dir} and is tried again at ${entry.nextAttemptAt}`,
        );
      }
    }
    return { sent, left, nextAttemptAt: next === undefined ? undefined : new Date(next) };
  }

  private fileOf(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  private claimFile(id: string): string {
    return path.join(this.dir, `${id}.json${CLAIM}${this.bootId}.${process.pid}`);
  }

  /** Drops the claimed file, durably. */
  private async removeClaim(id: string): Promise<void> {
    await rm(this.claimFile(id), { force: true });
    await fsyncDirectory(this.dir);
  }

  /** Takes the mail for this process; undefined when another process took it first. */
  private async claim(id: string): Promise<Entry | undefined> {
    try {
      await rename(this.fileOf(id), this.claimFile(id));
    } catch {
      return undefined;
    }
    return JSON.parse(await readFile(this.claimFile(id), 'utf8')) as Entry;
  }

  /** Puts the mail back for later, with its new attempt count. */
  private async release(entry: Entry): Promise<void> {
    await writeFileAtomic(this.fileOf(entry.id), `${JSON.stringify(entry)}\n`, 0o600);
    await rm(this.claimFile(entry.id), { force: true });
  }

  /** The server refused the mail itself: retrying cannot help. Kept under failed/ for a person to look at. */
  private async giveUp(entry: Entry): Promise<void> {
    const failedDir = path.join(this.dir, 'failed');
    await ensureDirDurable(failedDir, 0o700);
    await writeFileAtomic(path.join(failedDir, `${entry.id}.json`), `${JSON.stringify(entry)}\n`, 0o600);
    await this.removeClaim(entry.id);
    this.log.error(
      { mail: entry.id, subject: entry.message.subject },
      `${entry.lastError ?? 'the mail was refused'}; not retrying: the server refused it. Check mail.to and mail.from; the mail is kept in ${failedDir}`,
    );
  }

  /** Claims left by a process that died while sending, or by any process of an earlier boot, go back into the queue. */
  private async reclaimAbandoned(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const at = name.indexOf(CLAIM);
      if (at < 0) continue;
      // <boot>.<pid>; a bare <pid> is a claim of a plugback from before boot ids: never this process's, judged by its PID.
      const owner = name.slice(at + CLAIM.length).split('.');
      const pid = Number(owner.at(-1));
      const held =
        owner.length === 1 ? pid !== process.pid && isAlive(pid) : owner[0] === this.bootId && (pid === process.pid || isAlive(pid));
      if (held) continue;
      await rename(path.join(this.dir, name), path.join(this.dir, name.slice(0, at))).catch(() => undefined);
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** 550-553: the server refuses this recipient or sender for good. (A refused login, 535, is fixable: keep retrying.) */
function isPermanent(error: unknown): boolean {
  const cause = (error as { cause?: { responseCode?: unknown } }).cause;
  return typeof cause?.responseCode === 'number' && cause.responseCode >= 550 && cause.responseCode <= 553;
}
