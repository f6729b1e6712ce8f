import { Duplex } from 'node:stream';

/**
 * One end of an in-process byte pipe, for a link to this broker (RabbitMQ's direct
 * connection): what one end writes the other reads, with the streams' own backpressure.
 * The broker serves its end as it serves a TCP socket (Broker.acceptLocal); amqplib drives
 * the other. `inProcess` and `trusted` are what the connection checks to log the client in
 * as the broker's own user (a URI with no user info) without a password.
 */
let nextPort = 0;

export class PipeEnd extends Duplex {
  peer!: PipeEnd;
  readonly inProcess = true;
  readonly remoteAddress = '127.0.0.1';
  remotePort = 0;
  readonly localAddress = '127.0.0.1';
  localPort = 0;
  /** A write waiting for the peer to read on. */
  private pending: ((err?: Error | null) => void) | null = null;

  constructor(readonly trusted: boolean) {
    super({ allowHalfOpen: false });
  }

  /**
   * [the client's end, the broker's end]. The client end's "port" is a number of its own,
   * so that the broker's connection (named after its peer's address) has a name of its own.
   */
  static pair(trusted: boolean): [PipeEnd, PipeEnd] {
    const client = new PipeEnd(trusted);
    const server = new PipeEnd(trusted);
    client.peer = server;
    server.peer = client;
    nextPort = (nextPort % 65535) + 1;
    client.localPort = server.remotePort = nextPort;
    return [client, server];
  }

  /**
   * Bytes reach the other end on a later tick, as from a socket: a client that sends a
   * method and then waits for its reply (amqplib's connection.close) must not see the
   * reply arrive before its send returns.
   */
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    process.nextTick(() => {
      if (this.peer.destroyed) {
        cb(new Error('pipe closed'));
        return;
      }
      if (this.peer.push(chunk)) cb();
      else this.pending = cb;
    });
  }

  override _read(): void {
    const cb = this.peer.pending;
    if (cb === null) return;
    this.peer.pending = null;
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    process.nextTick(() => {
      if (!this.peer.destroyed) this.peer.push(null);
      cb();
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    for (const end of [this, this.peer]) {
      const pending = end.pending;
      end.pending = null;
      pending?.(new Error('pipe closed'));
    }
    const peer = this.peer;
    if (!peer.destroyed) {
      // As a TCP peer sees a close: end of stream, then close.
      peer.push(null);
      setImmediate(() => peer.destroy());
    }
    cb(err);
  }

  // The net.Socket methods a Connection calls.
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setTimeout(): this {
    return this;
  }

  destroySoon(): void {
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }
}
