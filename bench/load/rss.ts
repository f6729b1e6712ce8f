/**
 * Samples a process's resident set size and CPU time from /proc (Linux only).
 * `ProcMonitor` polls once a second and keeps the peak RSS and the CPU used
 * over a window; `settledRss` waits for RSS to stop moving (after a GC or a flush).
 */
import { readFileSync } from 'node:fs';
import { sleep } from './clock.js';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux we run on
const PAGE = 4096;

export interface ProcSample {
  /** Resident set size in bytes. */
  rss: number;
  /** User + system CPU time in seconds. */
  cpu: number;
  /** When sampled (ms, Date.now()). */
  at: number;
}

export function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm may contain spaces; fields after the closing parenthesis are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const rssPages = Number(rest[21]);
    return { rss: rssPages * PAGE, cpu: (utime + stime) / CLK_TCK, at: Date.now() };
  } catch {
    return null;
  }
}

export interface ProcSummary {
  pid: number;
  rssStart: number;
  rssEnd: number;
  rssMax: number;
  /** Average CPU use over the window, in percent of one core. */
  cpuPercent: number;
}

export class ProcMonitor {
  private first: ProcSample | null = null;
  private last: ProcSample | null = null;
  private max = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly pid: number) {}

  start(intervalMs = 1000): void {
    this.first = this.last = sampleProc(this.pid);
    this.max = this.first?.rss ?? 0;
    this.timer = setInterval(() => this.poll(), intervalMs);
    this.timer.unref();
  }

  /** Restarts the CPU window (e.g. after warm-up) while keeping the peak RSS. */
  mark(): void {
    this.first = this.poll();
  }

  poll(): ProcSample | null {
    const s = sampleProc(this.pid);
    if (s !== null) {
      this.last = s;
      if (s.rss > this.max) this.max = s.rss;
    }
    return s;
  }

  /** The latest sample, for progress lines. */
  get current(): ProcSample | null {
    return this.last;
  }

  /** CPU % of one core between the two most recent polls of `prev` and now. */
  static cpuBetween(a: ProcSample, b: ProcSample): number {
    const dt = (b.at - a.at) / 1000;
    return dt > 0 ? ((b.cpu - a.cpu) / dt) * 100 : 0;
  }

  stop(): ProcSummary | null {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const end = this.poll() ?? this.last;
    if (this.first === null || end === null) return null;
    return {
      pid: this.pid,
      rssStart: this.first.rss,
      rssEnd: end.rss,
      rssMax: this.max,
      cpuPercent: Math.round(ProcMonitor.cpuBetween(this.first, end) * 10) / 10,
    };
  }
}

/** Polls RSS until two readings `gapMs` apart differ by less than `tolerance` (fraction), or until timeoutMs. */
export async function settledRss(pid: number, gapMs = 500, tolerance = 0.005, timeoutMs = 10000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let prev = sampleProc(pid)?.rss ?? 0;
  for (;;) {
    await sleep(gapMs);
    const cur = sampleProc(pid)?.rss ?? 0;
    if (Math.abs(cur - prev) <= prev * tolerance || Date.now() > deadline) return cur;
    prev = cur;
  }
}
