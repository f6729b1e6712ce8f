import { AmqpError, ConnectionError, FrameError } from './errors.js';
import { frameErrorText } from './frame-reader.js';
import { FRAME_METHOD } from './generated/constants.js';
import { decodeMethod, type Method } from './generated/methods.js';
import { FIELD_BAD_UTF8, FIELD_OK, type Reader } from './reader.js';

/** Bytes of a failing method quoted in its error: enough to fill the 255-byte reply text. */
const QUOTED_BYTES = 256;

/**
 * Decodes a method frame's payload the way RabbitMQ's reader judges it:
 * - a payload too short for the class and method ids: 501 `type 1, all octets = <<..>>: unknown_frame`;
 * - an unknown method: 540 (from the decoder);
 * - fields that do not match the method's layout (missing, a table running past the frame,
 *   bytes left over), or a malformed table body: 501 `cannot decode <<fields>>` with the
 *   method's class and method ids;
 * - a short string that is not UTF-8: 501 `Malformed UTF-8 in shortstr`, with class and
 *   method 0 as RabbitMQ sends it for channel methods, or the method's ids when `named`
 *   (connection methods, on channel 0).
 */
export function decodeMethodFrame(r: Reader, buf: Buffer, start: number, end: number, named: boolean): Method {
  if (end - start < 4) throw new FrameError(frameErrorText(FRAME_METHOD, buf, start, end, 'unknown_frame'));
  r.reset(buf, start, end);
  let m: Method;
  try {
    m = decodeMethod(r);
  } catch (err) {
    if (err instanceof AmqpError && err.replyCode === 540) throw err;
    throw cannotDecode(buf, start, end);
  }
  if (r.pos !== end) throw cannotDecode(buf, start, end);
  if (r.fieldError !== FIELD_OK) {
    if (r.fieldError !== FIELD_BAD_UTF8) throw cannotDecode(buf, start, end);
    const id = named ? m.id : 0;
    throw new ConnectionError(501, 'Malformed UTF-8 in shortstr', id >>> 16, id & 0xffff);
  }
  return m;
}

function cannotDecode(buf: Buffer, start: number, end: number): ConnectionError {
  const id = buf.readUInt32BE(start);
  const fields = buf.subarray(start + 4, Math.min(end, start + 4 + QUOTED_BYTES));
  // Erlang's ~w: always the byte values. The reply text is cut at 255 bytes anyway.
  return new ConnectionError(501, `cannot decode <<${fields.join(',')}${end - start - 4 > QUOTED_BYTES ? ',...' : ''}>>`, id >>> 16, id & 0xffff);
}
