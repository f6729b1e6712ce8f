import { withLongHeader } from '../message.js';

const FLAG_CONTENT_TYPE = 1 << 15;
const FLAG_CONTENT_ENCODING = 1 << 14;
const FLAG_HEADERS = 1 << 13;
const NAME = 'x-stream-offset';
/** u32 table length, then shortstr name, 'l', i64. */
const TABLE_BYTES = 4 + 1 + NAME.length + 1 + 8;

/**
 * The property bytes a stream delivers a message with: its headers with x-stream-offset
 * (a long) added, sorted by name as RabbitMQ leaves them. Done once per message and
 * offset (the stream keeps the result), not per consumer. Without headers (the usual case)
 * the table is spliced in without decoding the rest.
 */
export function withStreamOffset(props: Buffer, offset: number): Buffer {
  const flags = props.length >= 2 ? props.readUInt16BE(0) : 0;
  if ((flags & FLAG_HEADERS) !== 0 || (flags & 1) !== 0 || props.length < 2) return withLongHeader(props, NAME, offset);
  // The headers table follows content-type and content-encoding (shortstrs), if present.
  let at = 2;
  if ((flags & FLAG_CONTENT_TYPE) !== 0) at += 1 + props[at]!;
  if ((flags & FLAG_CONTENT_ENCODING) !== 0) at += 1 + props[at]!;
  if (at > props.length) return withLongHeader(props, NAME, offset);
  const out = Buffer.allocUnsafe(props.length + TABLE_BYTES);
  props.copy(out, 0, 0, at);
  out.writeUInt16BE(flags | FLAG_HEADERS, 0);
  let w = at;
  out.writeUInt32BE(TABLE_BYTES - 4, w);
  w += 4;
  out[w++] = NAME.length;
  w += out.write(NAME, w, 'latin1');
  out[w++] = 0x6c; // 'l'
  out.writeUInt32BE(Math.floor(offset / 0x1_0000_0000), w);
  out.writeUInt32BE(offset >>> 0, w + 4);
  w += 8;
  props.copy(out, w, at);
  return out;
}
