import type { Logger } from 'pino';
import type { Method } from '../../amqp/generated/methods.js';
import type { Writer } from '../../amqp/writer.js';
import type { Channel } from './channel.js';
import type { QueueOwner } from '../queue/queue.js';
import type { VirtualHost } from '../vhost/vhost.js';
import type { AccessControl } from '../access/access-control.js';
import type { User } from '../access/users.js';
import type { BodyLease } from '../queue/body-pool.js';

/** Client capabilities that change what the broker sends. */
export interface ClientCapabilities {
  consumerCancelNotify: boolean;
  authenticationFailureClose: boolean;
  connectionBlocked: boolean;
}

/** What a channel needs from its connection. */
export interface Session extends QueueOwner {
  readonly vhost: VirtualHost;
  readonly writer: Writer;
  /** Negotiated frame_max, used to split outgoing bodies. */
  readonly frameMax: number;
  readonly maxMessageSize: number;
  /** The broker's consumer_timeout in ms. */
  readonly consumerTimeout: number;
  /** Coarse clock (ms), updated once a second. */
  readonly now: number;
  /** False while the socket has more queued than it wants: deliveries pause. */
  readonly writable: boolean;
  readonly capabilities: ClientCapabilities;
  readonly user: string;
  /** The authenticated user's record, and the access control that judges it. */
  readonly account: User;
  readonly access: AccessControl;
  readonly log: Logger;
  sendMethod(channel: number, m: Method): void;
  scheduleFlush(): void;
  /** A pooled body was written (by reference): held until the socket write completes, or for good if it cannot tell. */
  bodyWritten(lease: BodyLease): void;
  channelClosed(ch: Channel): void;
  /** The channel has end-of-turn output (confirms, cancel notifications) to write before the flush. */
  outputPending(ch: Channel): void;
  /** Stops reading from the client until resumeReading with the same reason bit. */
  pauseReading(reason: number): void;
  resumeReading(reason: number): void;
  /** Called for every basic.publish: a resource alarm blocks the connection here. */
  publishReceived(): void;
}
