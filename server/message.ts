import { encodeShortstrPair } from '../amqp/frame-writer.js';
import { readProperties, type BasicProperties } from '../amqp/generated/properties.js';
import { Reader } from '../amqp/reader.js';
import type { Consumer } from './consumer.js';
import type { Queue } from './queue.js';

/** Where a stored message's bytes can be read back from (the broker's message store). */
export interface StoredBodies {
  /** The whole stored payload of a live record. */
  read(id: number): Buffer;
  release(id: number, slot: number): void;
}

/** The content of a message for one write; reused, valid until the next content() call. */
export interface Content {
  props: Buffer;
  body: Buffer;
}

const content: Content = { props: Buffer.alloc(0), body: Buffer.alloc(0) };
const reader = new Reader();

/**
 * A published message. One instance is shared by every queue it was routed to;
 * `props` holds the encoded property bytes (flags and list) so that a delivery
 * re-sends them verbatim without re-encoding.
 *
 * A persistent message in durable queues is also in the message store. Once the store
 * reports it durable, its properties and body are dropped from memory (paged out) and
 * read back when needed, so a backlog costs RAM for its index, not for its bodies.
 */
export class Message {
  /** Body length in bytes, resident or not. */
  readonly size: number;
  /** The priority property as published (0 when absent). */
  readonly priority: number;
  readonly persistent: boolean;
  /** Record id in the message store; -1 when not stored (or the write failed). */
  storeId = -1;
  store: StoredBodies | null = null;
  /** Where the property bytes and the body start in the stored payload. */
  propsAt = 0;
  bodyAt = 0;
  private residentProps: Buffer | null;
  private residentProperties: BasicProperties | null;
  private residentBody: Buffer | null;

  constructor(
    public readonly exchange: string,
    public readonly routingKey: string,
    props: Buffer,
    properties: BasicProperties,
    body: Buffer,
    /** Every key it was routed with: the routing key, CC and BCC (dead-lettering reuses them). */
    public readonly routingKeys: string | readonly string[],
    /** Per-message TTL from the `expiration` property, in ms; -1 when absent. */
    public readonly ttl: number,
  ) {
    this.residentProps = props;
    this.residentProperties = properties;
    this.residentBody = body;
    this.size = body.length;
    this.priority = properties.priority ?? 0;
    this.persistent = properties.deliveryMode === 2;
  }

  /** A message recovered from the store: only its index fields are in memory. */
  static recovered(
    exchange: string,
    routingKey: string,
    routingKeys: string | readonly string[],
    ttl: number,
    properties: BasicProperties,
    size: number,
    store: StoredBodies,
    storeId: number,
    propsAt: number,
    bodyAt: number,
  ): Message {
    const m = new Message(exchange, routingKey, EMPTY, properties, EMPTY, routingKeys, ttl);
    (m as { size: number }).size = size;
    m.store = store;
    m.storeId = storeId;
    m.propsAt = propsAt;
    m.bodyAt = bodyAt;
    m.pageOut();
    return m;
  }

  /** Exchange and routing key as encoded shortstrs, made at the first delivery and shared by all. */
  private deliverTail: Buffer | null = null;

  get exchangeAndKey(): Buffer {
    return (this.deliverTail ??= encodeShortstrPair(this.exchange, this.routingKey));
  }

  get resident(): boolean {
    return this.residentBody !== null;
  }

  /** Property bytes and body for one write: from memory, or one read from the store. */
  content(): Content {
    if (this.residentBody !== null) {
      content.props = this.residentProps!;
      content.body = this.residentBody;
      return content;
    }
    const p = this.store!.read(this.storeId);
    content.props = p.subarray(this.propsAt, this.bodyAt);
    content.body = p.subarray(this.bodyAt);
    return content;
  }

  get props(): Buffer {
    return this.residentProps ?? this.content().props;
  }

  get body(): Buffer {
    return this.residentBody ?? this.content().body;
  }

  /** Decoded properties (read back and decoded again if paged out: dead-lettering only). */
  get properties(): BasicProperties {
    if (this.residentProperties !== null) return this.residentProperties;
    const props = this.props;
    return readProperties(reader.reset(props, 0, props.length));
  }

  /** Drops the content from memory; only for a stored message the store reported durable. */
  pageOut(): void {
    if (this.storeId < 0) return;
    this.residentProps = null;
    this.residentProperties = null;
    this.residentBody = null;
  }
}

const EMPTY = Buffer.alloc(0);

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
  /** This queue's reference (slot) in the stored record; -1 when none is held. */
  slot = -1;

  constructor(
    public readonly msg: Message,
    public readonly queue: Queue,
    /** Position in the queue; a requeued entry goes back in seq order. */
    public readonly seq: number,
  ) {}

  /** Gives up this queue's reference to the stored record (ack, drop, purge, delete). */
  release(): void {
    const slot = this.slot;
    if (slot < 0) return;
    this.slot = -1;
    const m = this.msg;
    if (m.storeId >= 0) m.store!.release(m.storeId, slot);
  }
}
