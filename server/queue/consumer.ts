import { encodeShortstr } from '../../amqp/frame-writer.js';
import type { FieldTable } from '../../amqp/table.js';
import type { QueueEntry } from './message.js';
import type { Queue } from './queue.js';

/** What a queue needs from the channel a consumer lives on. */
export interface ConsumerChannel {
  /** Whether this consumer may take one more message now (prefetch, flow, socket backpressure). */
  canDeliver(c: Consumer): boolean;
  deliver(c: Consumer, entry: QueueEntry): void;
  /** The queue went away under the consumer (queue.delete, exclusive owner gone). */
  cancelledByQueue(c: Consumer): void;
}

export class Consumer {
  /** Unacked deliveries held by this consumer. */
  unacked = 0;
  /** Found unable to take a message by the queue's last scan (RabbitMQ's blocked consumers). */
  blocked = false;
  /** The tag as an encoded shortstr, written into every basic.deliver. */
  readonly tagBytes: Buffer;

  constructor(
    readonly tag: string,
    readonly channel: ConsumerChannel,
    readonly queue: Queue,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    readonly priority: number,
    /** Per-consumer prefetch (basic.qos global=false at consume time); 0 = unlimited. */
    readonly prefetch: number,
    readonly args: FieldTable,
  ) {
    this.tagBytes = encodeShortstr(tag);
  }
}

/**
 * Follows whether a queue wants messages from elsewhere (wantsMessages): queue federation
 * pulls from an upstream only then. Told after anything that may change it (deliveries,
 * consumers coming and going, credit returned); it should coalesce the calls.
 */
export interface QueueStateObserver {
  queueStateChanged(q: Queue): void;
}

/**
 * Whether the queue would take messages from elsewhere now: it is empty and a consumer of
 * priority 0 or more could take one (rabbit_federation_queue's run condition; links
 * consume upstream at priority -1, so they do not count).
 */
export function wantsMessages(q: Queue): boolean {
  if (q.messageCount > 0 || q.deleted) return false;
  for (const c of q.consumers) if (c.priority >= 0 && c.channel.canDeliver(c)) return true;
  return false;
}
