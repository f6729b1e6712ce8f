import { Duplex } from 'node:stream';

/**
 * One end of an in-process byte pipe: what one end writes, the other reads, with the
 * streams' own backpressure (a write waits while the reader's buffer is full). The broker
 * serves one end as it serves a TCP socket; an AMQP client (amqplib) drives the other.
 * This is RabbitMQ's "direct" connection for shovels and federation links with a URI that
 * names no host: no listener, no network, no password.
 */
export class LocalSocket extends Duplex {
  peer!: LocalSocket;
  /** Marks the broker's end: it logs in as the broker's internal user unless the URI named one. */
  readonly inProcess = true;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  /** Bytes handed to the peer, and received from it (as net.Socket counts them). */
  private delivered = 0;
  bytesRead = 0;
  /** This end's write waiting for the peer to read. */
  private blockedWrite: ((err?: Error | null) => void) | null = null;

  constructor(
    /** Whether the broker's end should log in its client without a password (no user info in the URI). */
    readonly trusted: boolean,
  ) {
    super({ allowHalfOpen: false });
  }

  /** A connected pair: [the client's end, the broker's end]. */
  static pair(trusted: boolean): [LocalSocket, LocalSocket] {
    const a = new LocalSocket(trusted);
    const b = new LocalSocket(trusted);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  // Bytes reach the other end on a later tick, never inside the writer's call, as over TCP:
  // a client must not see the reply to a frame before its write of that frame returns.
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    process.nextTick(deliver, this, chunk, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    process.nextTick(deliver, this, chunks.map((c) => c.chunk), cb);
  }

  /** Hands `chunk` to the peer; the write completes once the peer has room for more. */
  pushToPeer(chunk: Buffer | Buffer[], cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (peer.destroyed || this.destroyed) {
      cb(new Error('socket closed'));
      return;
    }
    let room = true;
    let n = 0;
    if (Buffer.isBuffer(chunk)) {
      n = chunk.length;
      room = peer.push(chunk);
    } else {
      for (const c of chunk) {
        n += c.length;
        room = peer.push(c);
      }
    }
    this.delivered += n;
    peer.bytesRead += n;
    if (room) cb();
    else this.blockedWrite = cb;
  }

  override _read(): void {
    // The reader wants more: let the peer's waiting write through.
    const cb = this.peer.blockedWrite;
    if (cb !== null) {
      this.peer.blockedWrite = null;
      cb();
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    // After the writes before it (they were queued on earlier ticks).
    process.nextTick(endPeer, this, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    for (const end of [this, peer]) {
      const blocked = end.blockedWrite;
      end.blockedWrite = null;
      if (blocked !== null) blocked(new Error('socket closed'));
    }
    if (!peer.destroyed) {
      // The other end sees the close as a TCP peer would: end of stream, then close.
      peer.push(null);
      setImmediate(() => peer.destroy());
    }
    cb(err);
  }

  /** Bytes written so far, those still queued included (net.Socket's meaning). */
  get bytesWritten(): number {
    return this.delivered + this.writableLength;
  }

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

function deliver(from: LocalSocket, chunk: Buffer | Buffer[], cb: (err?: Error | null) => void): void {
  from.pushToPeer(chunk, cb);
}

function endPeer(from: LocalSocket, cb: (err?: Error | null) => void): void {
  if (!from.peer.destroyed) from.peer.push(null);
  cb();
}
