/**
 * The payload of a message record in the segment store: a head that says where the
 * message lives and how it was published, then the body. The head is what recovery
 * needs to put the message back in its queues without the broker's memory:
 *
 *   u8  version (1)
 *   u8  flags: bit 0 = a routing-key list follows (CC/BCC were used);
 *              bit 1 = transient (paged out under memory pressure, dropped at recovery);
 *              bit 2 = not persistent (stored for a quorum queue, which alone recovers it)
 *   f64 publishedAt, epoch ms (per-queue expiry is recomputed from it)
 *   shortstr vhost
 *   u16 queue count N, then N shortstr queue names: slot i is queue i
 *   [N f64: per slot, offset * 4 + marks in a stream, or -1]   version 2 only
 *   shortstr exchange, shortstr routing key
 *   [u16 K, then K shortstr routing keys]   with flag bit 0
 *   u32 property bytes P, then P bytes (the content header's flags and property list)
 *   body: the rest of the payload
 *
 * Integers are big-endian, as in AMQP; a shortstr is a u8 length and UTF-8 bytes.
 * Version 2 is written only for a message routed to a stream (an older reader leaves it
 * on disk rather than recover it without its offset).
 */

const VERSION = 1;
const VERSION_STREAMS = 2;
const FLAG_KEYS = 1;
const FLAG_TRANSIENT = 2;
const FLAG_NOT_PERSISTENT = 4;

export interface MessageHead {
  /** Written only to save memory: not to be recovered. */
  transient: boolean;
  /** Published without delivery mode 2: only queues that store every message recover it. */
  notPersistent: boolean;
  publishedAt: number;
  vhost: string;
  queues: string[];
  exchange: string;
  routingKey: string;
  /** Every key it was routed with, when that is more than the routing key. */
  routingKeys: string | readonly string[];
  /** Offset and length of the property bytes in the payload. */
  propsAt: number;
  propsLength: number;
  /** Offset of the body in the payload (the body runs to the end). */
  bodyAt: number;
  /** Per slot, a stream's offset * 4 + marks (-1 for other queues); null when no stream holds it. */
  streams: number[] | null;
}

let scratch = Buffer.allocUnsafe(4096);

/**
 * Encodes a head into a scratch buffer and returns a view of it, valid until the next
 * call (the store copies it at once).
 */
export function encodeHead(
  publishedAt: number,
  vhost: string,
  queues: readonly string[],
  exchange: string,
  routingKey: string,
  routingKeys: string | readonly string[],
  props: Uint8Array,
  transient = false,
  notPersistent = false,
  streams: readonly number[] | null = null,
): Buffer {
  const keys = typeof routingKeys === 'string' ? null : routingKeys;
  let need = 1 + 1 + 8 + 1 + 255 + 2 + 264 * queues.length + 512 + 4 + props.length;
  if (keys !== null) need += 2 + 256 * keys.length;
  if (scratch.length < need) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  const b = scratch;
  b[0] = streams === null ? VERSION : VERSION_STREAMS;
  b[1] = (keys === null ? 0 : FLAG_KEYS) | (transient ? FLAG_TRANSIENT : 0) | (notPersistent ? FLAG_NOT_PERSISTENT : 0);
  b.writeDoubleBE(publishedAt, 2);
  let at = shortstr(b, 10, vhost);
  b.writeUInt16BE(queues.length, at);
  at += 2;
  for (const q of queues) at = shortstr(b, at, q);
  if (streams !== null) {
    for (let i = 0; i < queues.length; i++) {
      b.writeDoubleBE(streams[i] ?? -1, at);
      at += 8;
    }
  }
  at = shortstr(b, at, exchange);
  at = shortstr(b, at, routingKey);
  if (keys !== null) {
    b.writeUInt16BE(keys.length, at);
    at += 2;
    for (const k of keys) at = shortstr(b, at, k);
  }
  b.writeUInt32BE(props.length, at);
  at += 4;
  b.set(props, at);
  at += props.length;
  return b.subarray(0, at);
}

/** Decodes the head of a stored payload; throws on a record it cannot read. */
export function decodeHead(p: Uint8Array): MessageHead {
  const b = Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  if (b[0] !== VERSION && b[0] !== VERSION_STREAMS) throw new Error(`unknown message record version ${b[0]}`);
  const flags = b[1]!;
  const publishedAt = b.readDoubleBE(2);
  const r = { at: 10 };
  const vhost = readShortstr(b, r);
  const n = b.readUInt16BE(r.at);
  r.at += 2;
  const queues: string[] = [];
  for (let i = 0; i < n; i++) queues.push(readShortstr(b, r));
  let streams: number[] | null = null;
  if (b[0] === VERSION_STREAMS) {
    streams = [];
    for (let i = 0; i < n; i++) {
      streams.push(b.readDoubleBE(r.at));
      r.at += 8;
    }
  }
  const exchange = readShortstr(b, r);
  const routingKey = readShortstr(b, r);
  let routingKeys: string | string[] = routingKey;
  if ((flags & FLAG_KEYS) !== 0) {
    const k = b.readUInt16BE(r.at);
    r.at += 2;
    routingKeys = [];
    for (let i = 0; i < k; i++) routingKeys.push(readShortstr(b, r));
  }
  const propsLength = b.readUInt32BE(r.at);
  const propsAt = r.at + 4;
  const bodyAt = propsAt + propsLength;
  if (bodyAt > b.length) throw new Error('message record shorter than its head');
  return { transient: (flags & FLAG_TRANSIENT) !== 0, notPersistent: (flags & FLAG_NOT_PERSISTENT) !== 0, publishedAt, vhost, queues, exchange, routingKey, routingKeys, propsAt, propsLength, bodyAt, streams };
}

function shortstr(b: Buffer, at: number, s: string): number {
  const n = b.write(s, at + 1, 255, 'utf8');
  b[at] = n;
  return at + 1 + n;
}

function readShortstr(b: Buffer, r: { at: number }): string {
  const n = b[r.at]!;
  const s = b.toString('utf8', r.at + 1, r.at + 1 + n);
  r.at += 1 + n;
  return s;
}

/**
 * Decodes the part of a head that a delivery needs (names, flags, where the properties
 * and the body are), in place and without the queue list: the read path of a stream,
 * which decodes thousands of records in a row. A name whose bytes repeat those of the
 * previous record's gives back the same string rather than a new one.
 */
export class HeadReader {
  transient = false;
  notPersistent = false;
  exchange = '';
  routingKey = '';
  routingKeys: string | readonly string[] = '';
  /** Offsets in the buffer given to read() (not in the payload). */
  propsAt = 0;
  bodyAt = 0;
  private readonly exchangeBytes = new NameBytes();
  private readonly keyBytes = new NameBytes();

  /** Decodes the head of the payload b[at, end); throws on a record it cannot read. */
  read(b: Buffer, at: number, end: number): void {
    const version = b[at];
    if (version !== VERSION && version !== VERSION_STREAMS) throw new Error(`unknown message record version ${version}`);
    const flags = b[at + 1]!;
    let p = at + 10;
    p += 1 + b[p]!; // vhost
    const n = b.readUInt16BE(p);
    p += 2;
    for (let i = 0; i < n; i++) p += 1 + b[p]!;
    if (version === VERSION_STREAMS) p += 8 * n;
    this.exchange = this.exchangeBytes.read(b, p);
    p += 1 + b[p]!;
    this.routingKey = this.keyBytes.read(b, p);
    p += 1 + b[p]!;
    this.routingKeys = this.routingKey;
    if ((flags & FLAG_KEYS) !== 0) {
      const k = b.readUInt16BE(p);
      p += 2;
      const keys: string[] = [];
      const r = { at: p };
      for (let i = 0; i < k; i++) keys.push(readShortstr(b, r));
      p = r.at;
      this.routingKeys = keys;
    }
    this.propsAt = p + 4;
    this.bodyAt = this.propsAt + b.readUInt32BE(p);
    if (this.bodyAt > end) throw new Error('message record shorter than its head');
    this.transient = (flags & FLAG_TRANSIENT) !== 0;
    this.notPersistent = (flags & FLAG_NOT_PERSISTENT) !== 0;
  }
}

/** The last shortstr read at one place of a head, its bytes kept to recognise a repeat. */
class NameBytes {
  private value = '';
  private bytes = Buffer.alloc(256);
  private length = -1;

  read(b: Buffer, at: number): string {
    const n = b[at]!;
    if (n === this.length) {
      const bytes = this.bytes;
      let i = 0;
      while (i < n && bytes[i] === b[at + 1 + i]) i++;
      if (i === n) return this.value;
    }
    b.copy(this.bytes, 0, at + 1, at + 1 + n);
    this.length = n;
    this.value = b.toString('utf8', at + 1, at + 1 + n);
    return this.value;
  }
}
