import { encodeShortstrPair } from '../../amqp/frame-writer.js';
import { readProperties, writeProperties, type BasicProperties } from '../../amqp/generated/properties.js';
import { Reader } from '../../amqp/reader.js';
import { long, type FieldTable } from '../../amqp/table.js';
import { Writer } from '../../amqp/writer.js';
import type { Consumer } from './consumer.js';
import type { Queue } from './queue.js';
import type { BodyLease } from './body-pool.js';

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
const propsWriter = new Writer(1024);

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
  /** Its stored record survives a restart, so a confirm waits until it is on disk. */
  durable = false;
  store: StoredBodies | null = null;
  /** Its body's pooled buffer, while the publisher could tell every holder of it (body-pool.ts). */
  lease: BodyLease | null = null;
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

  /**
   * A message read back from the store: `props` and `body` are views of the stored
   * payload (or EMPTY with size given, for an index-only message at recovery); the
   * properties are decoded only if asked for.
   */
  static stored(
    exchange: string,
    routingKey: string,
    routingKeys: string | readonly string[],
    ttl: number,
    priority: number,
    persistent: boolean,
    props: Buffer | null,
    body: Buffer | null,
    size: number,
    store: StoredBodies,
    storeId: number,
    propsAt: number,
    bodyAt: number,
  ): Message {
    const m = new Message(exchange, routingKey, EMPTY, NO_PROPERTIES, EMPTY, routingKeys, ttl);
    const w = m as { size: number; priority: number; persistent: boolean };
    w.size = size;
    w.priority = priority;
    w.persistent = persistent;
    m.store = store;
    m.storeId = storeId;
    m.propsAt = propsAt;
    m.bodyAt = bodyAt;
    m.residentProps = props;
    m.residentBody = body;
    m.residentProperties = null;
    return m;
  }

  /** Exchange and routing key as encoded shortstrs, made at the first delivery and shared by all. */
  private deliverTail: Buffer | null = null;

  get exchangeAndKey(): Buffer {
    return (this.deliverTail ??= encodeShortstrPair(this.exchange, this.routingKey));
  }

  /** Takes the encoded exchange and key of another message with the same ones (a stream's run of them). */
  shareExchangeAndKey(other: Message): void {
    this.deliverTail = other.exchangeAndKey;
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
const NO_PROPERTIES: BasicProperties = {};

// Property flag bits (AMQP content header) of the two properties a queue acts on.
const FLAG_PRIORITY = 1 << 11;
const FLAG_EXPIRATION = 1 << 8;

/**
 * The priority and TTL of encoded properties, decoding them only when either is present
 * (most messages have neither): what recovery and a read-back need to place a message.
 */
export function placement(props: Buffer): Placement {
  const flags = props.length >= 2 ? props.readUInt16BE(0) : 0;
  if ((flags & (FLAG_PRIORITY | FLAG_EXPIRATION)) === 0) return NO_PLACEMENT;
  const p = readProperties(reader.reset(props, 0, props.length));
  return { priority: p.priority ?? 0, expiration: p.expiration };
}

export interface Placement {
  priority: number;
  expiration: string | undefined;
}
const NO_PLACEMENT: Placement = { priority: 0, expiration: undefined };

/**
 * The property bytes of a quorum queue's delivery: the headers with x-delivery-count (a
 * long) set, and sorted by name, as rabbit_misc:set_table_value leaves them.
 */
export function withDeliveryCount(props: Buffer, count: number): Buffer {
  return withLongHeader(props, 'x-delivery-count', count);
}

/** The property bytes with header `name` set to a long, headers sorted by name (a stream's x-stream-offset too). */
export function withLongHeader(props: Buffer, name: string, n: number): Buffer {
  const p = readProperties(reader.reset(props, 0, props.length));
  const headers: FieldTable = { ...(p.headers ?? {}), [name]: long(n) };
  const sorted: FieldTable = {};
  for (const k of Object.keys(headers).sort(byteOrder)) sorted[k] = headers[k]!;
  writeProperties(propsWriter, { ...p, headers: sorted });
  return propsWriter.take();
}

/** Erlang's order of binaries: byte by byte. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A message's place in one queue: its order there, and its delivery state. */
export class QueueEntry {
  redelivered = false;
  /** Quorum queues: how often it came back (x-delivery-count); always 0 in classic queues. */
  deliveryCount = 0;
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
    /** Fixed while the entry is live; a stream reuses settled entries for new deliveries. */
    public msg: Message,
    public readonly queue: Queue,
    /** Position in the queue; a requeued entry goes back in seq order (quorum queues renumber it). */
    public seq: number,
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
