/**
 * RabbitMQ's memory alarm (vm_memory_monitor): while the broker's resident memory is above
 * vm_memory_high_watermark, publishing connections are blocked exactly as under the disk
 * alarm; consumers carry on, so queues can drain. Checked once a second, as RabbitMQ does.
 */
import { totalmem } from 'node:os';
import type { Logger } from 'pino';
import { parseBytes } from './disk-alarm.js';

/**
 * vm_memory_high_watermark: a number is a fraction of total memory (RabbitMQ's default 0.4),
 * a string such as "1GB" an absolute limit, and the objects spell the two out as
 * rabbitmq.conf's `.relative` and `.absolute` keys do.
 */
export type MemoryWatermark = number | string | { relative: number } | { absolute: number | string };

/** RabbitMQ caps a relative watermark at 1.0 (MAX_VM_MEMORY_HIGH_WATERMARK) and warns. */
const MAX_RELATIVE = 1;

/** The limit in bytes for a watermark, over `total` bytes of memory. Throws on a malformed value. */
export function memoryLimit(w: MemoryWatermark, total: number): number {
  if (typeof w === 'string') w = { absolute: w };
  if (typeof w === 'object' && w !== null && 'absolute' in w) {
    // As vm_memory_monitor: an absolute limit above the machine's memory is cut to it.
    return Math.min(parseBytes(w.absolute, 'vm_memory_high_watermark.absolute'), total);
  }
  const fraction = typeof w === 'object' && w !== null && 'relative' in w ? w.relative : w;
  if (typeof fraction !== 'number' || !Number.isFinite(fraction) || fraction < 0) {
    throw new Error(`vm_memory_high_watermark must be a fraction of total memory such as 0.4, or an absolute size such as "1GB"; got ${JSON.stringify(w)}`);
  }
  return Math.floor(Math.min(fraction, MAX_RELATIVE) * total);
}

export class MemoryAlarm {
  active = false;
  /** Bytes of resident memory above which the alarm is on. */
  limit = 0;
  /** Resident memory at the last check. */
  used = 0;

  constructor(
    watermark: MemoryWatermark,
    /** Memory the watermark is relative to: the machine's, or total_memory_available_override_value. */
    readonly total: number,
    private readonly log: Logger,
    /** Resident set size in bytes; injectable for tests (RabbitMQ's default strategy is rss too). */
    readonly readUsed: () => number = () => process.memoryUsage.rss(),
  ) {
    this.setWatermark(watermark);
  }

  /** Like `rabbitmqctl set_vm_memory_high_watermark`; the caller checks again afterwards. */
  setWatermark(w: MemoryWatermark): void {
    const relative = typeof w === 'number' || (typeof w === 'object' && w !== null && 'relative' in w);
    if (relative) {
      const f = typeof w === 'number' ? w : (w as { relative: number }).relative;
      if (f > MAX_RELATIVE) this.log.warn({ watermark: f, max: MAX_RELATIVE }, 'vm_memory_high_watermark is above the allowed maximum, using the maximum');
    }
    this.limit = memoryLimit(w, this.total);
    this.log.info({ limit: this.limit, total: this.total }, 'memory high watermark set');
  }

  /** Reads resident memory again; returns true when the alarm went on or off. */
  check(used = this.readUsed()): boolean {
    this.used = used;
    const high = used > this.limit;
    if (high === this.active) return false;
    this.active = high;
    if (high) this.log.warn({ used, limit: this.limit }, 'memory use is above vm_memory_high_watermark: publishers are blocked');
    else this.log.info({ used, limit: this.limit }, 'memory use is below vm_memory_high_watermark again: publishers are unblocked');
    return true;
  }
}

/** The memory a relative watermark refers to: the override when set (bytes or "4GB"), else the machine's. */
export function totalMemory(override: number | string): number {
  if (override === 0 || override === '') return totalmem();
  return parseBytes(override, 'total_memory_available_override_value');
}

/**
 * The connection.blocked reason for the alarms in effect, as RabbitMQ words it:
 * "low on disk", "low on memory", or "low on disk & memory"; null when none is.
 */
export function alarmReason(disk: boolean, memory: boolean): string | null {
  if (!disk && !memory) return null;
  return `low on ${[disk ? 'disk' : '', memory ? 'memory' : ''].filter((s) => s !== '').join(' & ')}`;
}
