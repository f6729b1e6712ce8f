import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from './generated/constants.js';
import { encodeMethod, type Method } from './generated/methods.js';
import type { Writer } from './writer.js';

/** A shortstr, length byte included, encoded once for reuse in many frames. */
export function encodeShortstr(s: string): Buffer {
  const len = Buffer.byteLength(s);
  if (len > 255) throw new RangeError(`shortstr longer than 255 bytes: ${len}`);
  const b = Buffer.allocUnsafe(1 + len);
  b[0] = len;
  b.write(s, 1, len, 'utf8');
  return b;
}

/** Two shortstrs back to back (a message's exchange and routing key), encoded once. */
export function encodeShortstrPair(a: string, b: string): Buffer {
  const la = Buffer.byteLength(a);
  const lb = Buffer.byteLength(b);
  if (la > 255 || lb > 255) throw new RangeError('shortstr longer than 255 bytes');
  const out = Buffer.allocUnsafe(2 + la + lb);
  out[0] = la;
  out.write(a, 1, la, 'utf8');
  out[1 + la] = lb;
  out.write(b, 2 + la, lb, 'utf8');
  return out;
}

/**
 * basic.deliver from pre-encoded parts: the hot path writes the consumer tag and the
 * message's exchange and routing key as bytes instead of re-encoding three strings.
 */
export function writeBasicDeliver(w: Writer, channel: number, consumerTag: Buffer, deliveryTag: number, redelivered: boolean, exchangeAndKey: Buffer): void {
  const at = beginFrame(w, FRAME_METHOD, channel);
  w.u32(0x003c003c);
  w.bytes(consumerTag);
  w.u64(deliveryTag);
  w.u8(redelivered ? 1 : 0);
  w.bytes(exchangeAndKey);
  endFrame(w, at);
}

/** Starts a frame and returns where its size goes; call endFrame after writing the payload. */
export function beginFrame(w: Writer, type: number, channel: number): number {
  w.ensure(7);
  const b = w.buf;
  const p = w.pos;
  b[p] = type;
  b.writeUInt16BE(channel, p + 1);
  w.pos = p + 7;
  return p + 3;
}

export function endFrame(w: Writer, sizeAt: number): void {
  w.buf.writeUInt32BE(w.pos - sizeAt - 4, sizeAt);
  w.u8(FRAME_END);
}

export function beginMethod(w: Writer, channel: number): number {
  return beginFrame(w, FRAME_METHOD, channel);
}

/**
 * One method frame. If encoding throws (a value the codec refuses), the writer goes back to
 * the frame's start: a half-written frame, whose size was never filled in, must never reach
 * the socket, where it would make everything after it unreadable.
 */
export function writeMethod(w: Writer, channel: number, m: Method): void {
  const start = w.pos;
  try {
    const at = beginFrame(w, FRAME_METHOD, channel);
    encodeMethod(w, m);
    endFrame(w, at);
  } catch (err) {
    // ensure() keeps live bytes at their offsets, so the old position is still the frame's start.
    w.pos = start;
    throw err;
  }
}

export function writeHeartbeat(w: Writer): void {
  endFrame(w, beginFrame(w, FRAME_HEARTBEAT, 0));
}

/**
 * Writes a content header (with already-encoded property bytes: flags + list) and
 * the body split into frames of at most frameMax bytes.
 */
export function writeContent(
  w: Writer,
  channel: number,
  classId: number,
  props: Buffer,
  body: Buffer,
  frameMax: number,
): void {
  const size = body.length;
  w.ensure(7 + 12 + props.length + 1 + (size < EXTERNAL_BODY_BYTES ? size : 0) + 8 * (1 + Math.ceil(size / (frameMax - 8))));
  const at = beginFrame(w, FRAME_HEADER, channel);
  w.u16(classId);
  w.u16(0);
  w.u64(size);
  w.bytes(props);
  endFrame(w, at);
  const chunk = frameMax - 8;
  // Big bodies go to the socket by reference: copying megabytes into the slab was most
  // of the cost of large messages.
  const byReference = size >= EXTERNAL_BODY_BYTES;
  for (let off = 0; off < size; off += chunk) {
    const end = off + chunk < size ? off + chunk : size;
    if (byReference) {
      // The size is known, so nothing needs back-patching across the external chunk.
      w.ensure(7);
      w.buf[w.pos] = FRAME_BODY;
      w.buf.writeUInt16BE(channel, w.pos + 1);
      w.buf.writeUInt32BE(end - off, w.pos + 3);
      w.pos += 7;
      w.external(body.subarray(off, end));
      w.u8(FRAME_END);
      continue;
    }
    const bat = beginFrame(w, FRAME_BODY, channel);
    w.bytes(body, off, end);
    endFrame(w, bat);
  }
}

/** Bodies at least this big are written by reference rather than copied. */
export const EXTERNAL_BODY_BYTES = 64 * 1024;
