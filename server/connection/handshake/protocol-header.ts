/** The 8 bytes a client opens with, collected across reads. */

export const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
// RabbitMQ treats a 0-9 header as 0-9-1.
const PROTOCOL_HEADER_0_9 = Buffer.from('AMQP\x01\x01\x00\x09', 'latin1');

export interface HeaderRead {
  /** AMQP 0-9-1 (or 0-9): go on to connection.start. */
  ok: boolean;
  header: Buffer;
  /** What came after the header in the same reads. */
  rest: Buffer;
}

export class ProtocolHeaderReader {
  private got: Buffer | null = null;

  /** Takes a read (a copy the caller may keep); the header once all 8 bytes are in, else null. */
  push(chunk: Buffer): HeaderRead | null {
    const got = this.got === null ? chunk : Buffer.concat([this.got, chunk]);
    if (got.length < 8) {
      this.got = got;
      return null;
    }
    this.got = null;
    const header = got.subarray(0, 8);
    return { ok: header.equals(PROTOCOL_HEADER) || header.equals(PROTOCOL_HEADER_0_9), header, rest: got.subarray(8) };
  }
}
