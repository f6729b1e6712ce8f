import type { Socket } from 'node:net';

/** What a heartbeat check asks the connection to do. */
export const HEARTBEAT_NONE = 0;
export const HEARTBEAT_SEND = 1;
/** Two whole intervals without a byte from the client. */
export const PEER_SILENT = 2;
/** Two whole intervals in which none of our pending output drained: the client stopped reading. */
export const PEER_STALLED = 3;

/**
 * RabbitMQ's rabbit_heartbeat for one connection, checked by the broker's timer wheel every
 * half interval:
 * - sender: a heartbeat frame at each check if nothing was written since the previous one
 *   (RabbitMQ 3.10 sends one every 500 ms for heartbeat=1 on an idle connection);
 * - receiver: every whole interval, whether any byte arrived; after two silent checks in a
 *   row (2 to 3 intervals after the last byte) the peer is gone;
 * - a peer that stops reading fills its TCP window and our socket buffer, and then neither
 *   heartbeats nor anything else reach it: output that has not drained at all for two
 *   intervals counts as a dead peer too.
 */
export class HeartbeatState {
  private checks = 0;
  private lastIn = 0;
  /** socket.bytesWritten at the last check (plus the heartbeat queued then). */
  private lastOut = 0;
  /** Bytes the kernel had taken at the last check: socket.bytesWritten - socket.writableLength. */
  private lastDrained = 0;
  /** Since when output has been pending without draining at all (-1: it is not). */
  private stalledSince = -1;
  missed = 0;

  /** Starts counting from now; returns `firstCheck`, when the first check is due. */
  start(bytesIn: number, socket: Socket, firstCheck: number): number {
    this.checks = 0;
    this.missed = 0;
    this.lastIn = bytesIn;
    this.lastOut = socket.bytesWritten;
    this.lastDrained = this.lastOut - socket.writableLength;
    this.stalledSince = -1;
    return firstCheck;
  }

  /** One check, `half` ms after the previous one. `paused`: we are not reading the socket (flow control, alarms). */
  check(now: number, half: number, bytesIn: number, socket: Socket, paused: boolean): number {
    const written = socket.bytesWritten;
    const pending = socket.writableLength;
    const drained = written - pending;
    if (pending === 0) this.stalledSince = -1;
    else if (this.stalledSince < 0 || drained !== this.lastDrained) this.stalledSince = now;
    this.lastDrained = drained;
    if (this.stalledSince >= 0 && now - this.stalledSince >= 4 * half) return PEER_STALLED;
    if (++this.checks % 2 === 0) {
      // While we do not read, the client's heartbeats cannot arrive: its silence does not count.
      if (paused || bytesIn !== this.lastIn) {
        this.missed = 0;
        this.lastIn = bytesIn;
      } else if (++this.missed >= 2) {
        return PEER_SILENT;
      }
    }
    // The first check always sends one, as RabbitMQ's does.
    if (written === this.lastOut || this.checks === 1) {
      this.lastOut = written + 8; // the heartbeat frame about to be written
      return HEARTBEAT_SEND;
    }
    this.lastOut = written;
    return HEARTBEAT_NONE;
  }
}
