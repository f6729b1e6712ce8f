import { encodeShortstrPair } from '../amqp/frame-writer.js';
import type { BasicProperties } from '../amqp/generated/properties.js';
import type { Consumer } from './consumer.js';
import type { Queue } from './queue.js';

/**
 * A published message. One instance is shared by every queue it was routed to;
 * `props` holds the encoded property bytes (flags and list) so that a delivery
 * re-sends them verbatim without re-encoding.
 */
export class Message {
  constructor(
    public readonly exchange: string,
    public readonly routingKey: string,
    public readonly props: Buffer,
    public readonly properties: BasicProperties,
    public readonly body: Buffer,
    /** Every key it was routed with: the routing key, CC and BCC (dead-lettering reuses them). */
    public readonly routingKeys: string | readonly string[],
    /** Per-message TTL from the `expiration` property, in ms; -1 when absent. */
    public readonly ttl: number,
  ) {}

  /** Exchange and routing key as encoded shortstrs, made at the first delivery and shared by all. */
  private deliverTail: Buffer | null = null;

  get persistent(): boolean {
    return this.properties.deliveryMode === 2;
  }

  get exchangeAndKey(): Buffer {
    return (this.deliverTail ??= encodeShortstrPair(this.exchange, this.routingKey));
  }
}

/** A message's place in one queue: its order there, and its delivery state. */
export class QueueEntry {
  redelivered = false;
  /** The channel delivery tag while unacked, else 0. */
  deliveryTag = 0;
  /** The consumer holding it unacked (null for basic.get or when not delivered). */
  consumer: Consumer | null = null;
  /** Epoch ms after which it is dead; 0 = never. Kept across requeues, as in RabbitMQ. */
  expiresAt = 0;
  /** Coarse time of delivery while unacked, for the consumer timeout. */
  deliveredAt = 0;

  constructor(
    public readonly msg: Message,
    public readonly queue: Queue,
    /** Position in the queue; a requeued entry goes back in seq order. */
    public readonly seq: number,
  ) {}
}
