import { Message, withLongHeader } from '../message.js';

const FLAG_CONTENT_TYPE = 1 << 15;
const FLAG_CONTENT_ENCODING = 1 << 14;
const FLAG_HEADERS = 1 << 13;
const NAME = 'x-stream-offset';
/** u32 table length, then shortstr name, 'l', i64. */
const TABLE_BYTES = 4 + 1 + NAME.length + 1 + 8;
/** The table up to its i64: the same for every offset. */
const TABLE_HEAD = Buffer.alloc(TABLE_BYTES - 8);
TABLE_HEAD.writeUInt32BE(TABLE_BYTES - 4, 0);
TABLE_HEAD[4] = NAME.length;
TABLE_HEAD.write(NAME, 5, 'latin1');
TABLE_HEAD[5 + NAME.length] = 0x6c; // 'l'

/**
 * The property bytes a stream delivers a message with: its headers with x-stream-offset
 * (a long) added, sorted by name as RabbitMQ leaves them. Done once per message and
 * offset (the stream keeps the result), not per consumer. Without headers (the usual case)
 * the table is spliced in without decoding the rest. `from` and `to` bound the property
 * bytes within `src` (a stored record read from disk, say), which is not changed.
 */
export function withStreamOffset(src: Buffer, offset: number, from = 0, to = src.length): Buffer {
  const len = to - from;
  const flags = len >= 2 ? src.readUInt16BE(from) : 0;
  if ((flags & 1) !== 0 || len < 2) return withLongHeader(src.subarray(from, to), NAME, offset);
  // The headers table follows content-type and content-encoding (shortstrs), if present.
  let at = 2;
  if ((flags & FLAG_CONTENT_TYPE) !== 0) at += 1 + src[from + at]!;
  if ((flags & FLAG_CONTENT_ENCODING) !== 0) at += 1 + src[from + at]!;
  // Headers already there: decoded and sorted with ours, unless the table is empty (as
  // amqplib sends it), which is then replaced as if absent.
  let skip = 0;
  if ((flags & FLAG_HEADERS) !== 0) {
    if (at + 4 > len || src.readUInt32BE(from + at) !== 0) return withLongHeader(src.subarray(from, to), NAME, offset);
    skip = 4;
  }
  if (at > len) return withLongHeader(src.subarray(from, to), NAME, offset);
  const out = Buffer.allocUnsafe(len - skip + TABLE_BYTES);
  src.copy(out, 0, from, from + at);
  out.writeUInt16BE(flags | FLAG_HEADERS, 0);
  let w = at;
  TABLE_HEAD.copy(out, w);
  w += TABLE_HEAD.length;
  out.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), w);
  out.writeUInt32BE(offset >>> 0, w + 4);
  w += 8;
  src.copy(out, w, from + at + skip, to);
  return out;
}

/**
 * The message as a stream delivers it at `offset`: the same content and place in the store,
 * with x-stream-offset in its headers (kept by the stream, shared by its consumers).
 */
export function atOffset(m: Message, offset: number): Message {
  const { props, body } = m.content();
  return Message.stored(m.exchange, m.routingKey, m.routingKeys, -1, m.priority, m.persistent, withStreamOffset(props, offset), body, m.size, m.store!, m.storeId, m.propsAt, m.bodyAt);
}
