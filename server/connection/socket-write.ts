import type { Socket } from 'node:net';
import type { ConnectionCounters } from '../ops/stats.js';

/**
 * Writes one turn's output: a single write, or, when large bodies were sent by reference
 * and there are several chunks, one writev through cork. False when the socket wants a
 * 'drain' before more is written.
 */
export function writeChunks(socket: Socket, chunks: readonly Buffer[], counters: ConnectionCounters): boolean {
  counters.sendCnt++;
  if (chunks.length === 1) {
    counters.sendOct += chunks[0]!.length;
    return socket.write(chunks[0]!);
  }
  socket.cork();
  let ok = true;
  for (const c of chunks) {
    counters.sendOct += c.length;
    ok = socket.write(c);
  }
  socket.uncork();
  return ok;
}
