/**
 * RabbitMQ's free-disk alarm: while the data directory's file system has less free space
 * than disk_free_limit, publishing connections are blocked (connection.blocked, and no
 * more reads), not failed; consumers carry on, so queues can drain and free the disk.
 */
import { statfsSync } from 'node:fs';
import type { Logger } from 'pino';

export const LOW_ON_DISK = 'low on disk';

export class DiskAlarm {
  active = false;
  /** Free bytes at the last check; -1 before the first. */
  free = -1;
  private readFailed = false;

  constructor(
    private readonly path: string,
    public limit: number,
    private readonly log: Logger,
    /** Free bytes for unprivileged users; injectable for tests. */
    readonly freeBytes: () => number = () => {
      const s = statfsSync(this.path);
      return s.bavail * s.bsize;
    },
  ) {}

  /** Reads the free space again; returns true when the alarm went on or off. */
  check(): boolean {
    let free: number;
    try {
      free = this.freeBytes();
      this.readFailed = false;
    } catch (err) {
      // Keep the last state: a failing statfs says nothing about the space.
      if (!this.readFailed) this.log.error({ err, path: this.path }, 'cannot read free disk space');
      this.readFailed = true;
      return false;
    }
    this.free = free;
    const low = free < this.limit;
    if (low === this.active) return false;
    this.active = low;
    if (low) this.log.warn({ free, limit: this.limit }, 'free disk space is below disk_free_limit: publishers are blocked');
    else this.log.info({ free, limit: this.limit }, 'free disk space is above disk_free_limit again: publishers are unblocked');
    return true;
  }
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/**
 * A byte count as rabbitmq.conf writes it: a number, or "50MB" (powers of 1000), "2GiB" or
 * "2G" (powers of 1024). Throws on anything else.
 */
export function parseBytes(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
    const unit = m === null ? undefined : UNITS[m[2]!.toLowerCase()];
    if (m !== null && unit !== undefined) return Math.floor(Number(m[1]) * unit);
  }
  throw new Error(`${what} must be a byte count such as 50000000, "50MB" or "2GiB"; got ${JSON.stringify(v)}`);
}
