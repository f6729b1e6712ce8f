import { M } from '../../amqp/generated/constants.js';
import type { Method } from '../../amqp/generated/methods.js';
import { ChannelError } from '../../amqp/errors.js';
import type { Channel } from './channel.js';
import { REPLY_TO } from '../vhost/direct-reply-to.js';
import { generateName } from './naming.js';

/**
 * RabbitMQ strips CR and LF from the names in these methods (rabbit_channel:strip_cr_lf), so
 * that the stripped name finds the object later; purge, get, consume and publish do not.
 */
function stripCrLf(name: string): string {
  return name.includes('\r') || name.includes('\n') ? name.replace(/[\r\n]/g, '') : name;
}

/** exchange.* and queue.* methods. Returns false for any other method. */
export function handleTopologyMethod(ch: Channel, m: Method): boolean {
  const session = ch.session;
  const vh = session.vhost;
  switch (m.id) {
    case M.ExchangeDeclare:
      vh.declareExchange(
        { name: stripCrLf(m.exchange), type: m.type, durable: m.durable, autoDelete: m.autoDelete, internal: m.internal, args: m.arguments },
        m.passive,
      );
      if (!m.nowait) ch.reply({ id: M.ExchangeDeclareOk });
      return true;
    case M.ExchangeDelete:
      vh.deleteExchange(stripCrLf(m.exchange), m.ifUnused);
      if (!m.nowait) ch.reply({ id: M.ExchangeDeleteOk });
      return true;
    case M.ExchangeBind: {
      const source = stripCrLf(m.source);
      const destination = stripCrLf(m.destination);
      if (destination === '' || source === '') throw new ChannelError(403, 'operation not permitted on the default exchange');
      const src = vh.exchangeOrDie(source);
      const dest = vh.exchangeOrDie(destination);
      vh.bindExchange(dest, src, m.routingKey, m.arguments);
      if (!m.nowait) ch.reply({ id: M.ExchangeBindOk });
      return true;
    }
    case M.ExchangeUnbind: {
      const source = stripCrLf(m.source);
      const destination = stripCrLf(m.destination);
      if (destination === '' || source === '') throw new ChannelError(403, 'operation not permitted on the default exchange');
      // RabbitMQ answers unbind-ok even when either side is missing.
      const src = vh.exchanges.get(source);
      const dest = vh.exchanges.get(destination);
      if (src !== undefined && dest !== undefined) vh.unbindExchange(dest, src, m.routingKey, m.arguments);
      if (!m.nowait) ch.reply({ id: M.ExchangeUnbindOk });
      return true;
    }
    case M.QueueDeclare: {
      let name = stripCrLf(m.queue);
      // Reply-to names are never created: any declare of one is answered as a passive one.
      if (m.passive || name.startsWith(REPLY_TO)) {
        if (name === REPLY_TO || vh.replies.lookup(name) !== undefined) {
          // RabbitMQ answers for the pseudo-queue with no messages and one consumer.
          if (!m.nowait) ch.reply({ id: M.QueueDeclareOk, queue: name, messageCount: 0, consumerCount: 1 });
          return true;
        }
        // No '' shortcut here: a passive declare of '' looks for a queue named ''.
        const q = vh.queueOrDie(name, session);
        // A passive declare is a use: it renews an x-expires lease.
        q.touch();
        ch.lastQueue = q.name;
        if (!m.nowait) ch.reply({ id: M.QueueDeclareOk, queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount });
        return true;
      }
      if (name === '') name = generateName('amq.gen');
      else if (name.startsWith('amq.')) throw new ChannelError(403, `queue name '${name}' contains reserved prefix 'amq.*'`);
      const { queue: q } = vh.declareQueue(
        { name, durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, args: m.arguments },
        session,
      );
      ch.lastQueue = q.name;
      if (!m.nowait) ch.reply({ id: M.QueueDeclareOk, queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount });
      return true;
    }
    case M.QueueBind: {
      const exchange = stripCrLf(m.exchange);
      const queue = stripCrLf(m.queue);
      if (exchange === '') throw new ChannelError(403, 'operation not permitted on the default exchange');
      const x = vh.exchangeOrDie(exchange);
      const q = vh.queueOrDie(ch.queueName(queue), session);
      // An empty key with an empty queue name means "the last declared queue's name".
      const key = queue === '' && m.routingKey === '' ? q.name : m.routingKey;
      vh.bindQueue(q, x, key, m.arguments);
      if (!m.nowait) ch.reply({ id: M.QueueBindOk });
      return true;
    }
    case M.QueueUnbind: {
      const exchange = stripCrLf(m.exchange);
      const queue = stripCrLf(m.queue);
      if (exchange === '') throw new ChannelError(403, 'operation not permitted on the default exchange');
      const name = ch.queueName(queue);
      const key = queue === '' && m.routingKey === '' ? name : m.routingKey;
      // RabbitMQ answers unbind-ok when the queue, the exchange or the binding is missing.
      const x = vh.exchanges.get(exchange);
      const q = vh.queues.get(name);
      if (x !== undefined && q !== undefined) vh.unbindQueue(q, x, key, m.arguments, session);
      ch.reply({ id: M.QueueUnbindOk });
      return true;
    }
    case M.QueuePurge: {
      const q = vh.queueOrDie(ch.queueName(m.queue), session);
      const count = q.purge();
      if (!m.nowait) ch.reply({ id: M.QueuePurgeOk, messageCount: count });
      return true;
    }
    case M.QueueDelete: {
      const name = ch.queueName(stripCrLf(m.queue));
      const q = vh.queues.get(name);
      let count = 0;
      if (q !== undefined) {
        vh.checkExclusive(q, session);
        if (m.ifEmpty && q.messageCount > 0) throw new ChannelError(406, `${q.resource} not empty`);
        if (m.ifUnused && q.consumerCount > 0) throw new ChannelError(406, `${q.resource} in use`);
        count = vh.deleteQueue(q);
      }
      if (!m.nowait) ch.reply({ id: M.QueueDeleteOk, messageCount: count });
      return true;
    }
    default:
      return false;
  }
}
