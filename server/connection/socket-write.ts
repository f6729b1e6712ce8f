import { Socket as NetSocket, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { BodyLease } from '../queue/body-pool.js';
import type { ConnectionCounters } from '../ops/stats.js';

/**
 * Writes one turn's output: a single write, or, when large bodies were sent by reference
 * and there are several chunks, one writev through cork. False when the socket wants a
 * 'drain' before more is written.
 */
export function writeChunks(socket: Socket, chunks: readonly Buffer[], counters: ConnectionCounters, done?: (err?: Error | null) => void): boolean {
  counters.sendCnt++;
  if (chunks.length === 1) {
    counters.sendOct += chunks[0]!.length;
    return socket.write(chunks[0]!, done);
  }
  socket.cork();
  let ok = true;
  const last = chunks.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = chunks[i]!;
    counters.sendOct += c.length;
    // `done` goes with the last chunk: it is called once every chunk before it is written too.
    ok = i === last ? socket.write(c, done) : socket.write(c);
  }
  socket.uncork();
  return ok;
}

/**
 * Pooled bodies written by reference this turn (body-pool.ts): each is held until the write
 * carrying it completes. Only a real socket (TCP or TLS) tells when that is; an in-process
 * pipe hands its buffers on as they are, so a body written to one is never returned.
 */
export class WriteLeases {
  private list: BodyLease[] = [];
  private readonly tracked: boolean;

  constructor(socket: Duplex) {
    this.tracked = socket instanceof NetSocket;
  }

  add(lease: BodyLease): void {
    if (!this.tracked) {
      lease.dead = true;
      return;
    }
    lease.holds++;
    this.list.push(lease);
  }

  /** The callback for this turn's write, releasing what it carries; undefined when it carries none. */
  takeDone(): ((err?: Error | null) => void) | undefined {
    if (this.list.length === 0) return undefined;
    const held = this.list;
    this.list = [];
    return (err) => {
      // A failed write may have left the kernel mid-copy: those buffers are not reused.
      for (const l of held) {
        if (err) l.dead = true;
        l.release();
      }
    };
  }

  /** The turn's output was not written (the socket is gone): nothing it held is reused. */
  drop(): void {
    for (const l of this.list) l.dead = true;
    this.list = [];
  }
}
