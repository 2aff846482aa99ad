// Drives waiting for their backup, first come first served: one job runs at a time, because two rsyncs onto
// two USB drives from the same source disks are slower than one after the other, and the LED shows one job.

export class DriveQueue {
  private readonly waiting: string[] = [];

  /** Adds a drive; false when it is already waiting. */
  add(drive: string): boolean {
    if (this.waiting.includes(drive)) return false;
    this.waiting.push(drive);
    return true;
  }

  /** Takes a drive out (it was pulled out before its turn); false when it was not waiting. */
  remove(drive: string): boolean {
    const index = this.waiting.indexOf(drive);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    return true;
  }

  next(): string | undefined {
    return this.waiting.shift();
  }

  has(drive: string): boolean {
    return this.waiting.includes(drive);
  }

  /** The drives waiting, in order. */
  list(): readonly string[] {
    return [...this.waiting];
  }
}
