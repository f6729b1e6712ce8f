import { ChannelError } from '../../amqp/errors.js';
import { CLASS } from '../../amqp/generated/constants.js';
import { beginMethod, endFrame, writeContent } from '../../amqp/frame-writer.js';
import { encodeBasicDeliver } from '../../amqp/generated/methods.js';
import type { Channel } from '../connection/channel.js';
import type { Message } from '../queue/message.js';
import { randomBytes } from 'node:crypto';

/** The pseudo-queue RPC clients consume from (RabbitMQ's direct reply-to). */
export const REPLY_TO = 'amq.rabbitmq.reply-to';
export const REPLY_TO_PREFIX = 'amq.rabbitmq.reply-to.';

/**
 * The reply consumer of one channel. Replies bypass queues: a publish to the default
 * exchange with the routing key `amq.rabbitmq.reply-to.<key>` goes straight to the
 * channel that registered `<key>`, as a no-ack delivery.
 */
export class ReplyConsumer {
  readonly key = randomBytes(16).toString('base64url');

  constructor(
    readonly channel: Channel,
    readonly tag: string,
  ) {}

  get address(): string {
    return REPLY_TO_PREFIX + this.key;
  }

  deliver(msg: Message): void {
    const ch = this.channel;
    const w = ch.session.writer;
    const at = beginMethod(w, ch.id);
    // RabbitMQ stamps replies with the channel's next delivery tag without using it up.
    encodeBasicDeliver(w, this.tag, ch.peekDeliveryTag(), false, msg.exchange, msg.routingKey);
    endFrame(w, at);
    const { props, body } = msg.content();
    writeContent(w, ch.id, CLASS.basic, props, body, ch.session.frameMax);
    ch.session.scheduleFlush();
  }
}

/** Registry of live reply consumers, by key. */
export class ReplyRegistry {
  private readonly byKey = new Map<string, ReplyConsumer>();

  register(ch: Channel, tag: string, noAck: boolean): ReplyConsumer {
    if (!noAck) throw new ChannelError(406, 'reply consumer cannot acknowledge');
    if (ch.replyConsumer !== null) throw new ChannelError(406, 'reply consumer already set');
    const rc = new ReplyConsumer(ch, tag);
    this.byKey.set(rc.key, rc);
    return rc;
  }

  unregister(rc: ReplyConsumer): void {
    if (this.byKey.get(rc.key) === rc) this.byKey.delete(rc.key);
  }

  /** The consumer a reply-to routing key points at, if it is still there. */
  lookup(routingKey: string): ReplyConsumer | undefined {
    if (!routingKey.startsWith(REPLY_TO_PREFIX)) return undefined;
    return this.byKey.get(routingKey.slice(REPLY_TO_PREFIX.length));
  }
}
