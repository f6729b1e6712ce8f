import { M } from '../amqp/generated/constants.js';
import type { Method } from '../amqp/generated/methods.js';
import { ChannelError } from '../amqp/errors.js';
import type { Channel } from './channel.js';
import { REPLY_TO } from './direct-reply-to.js';
import { generateName } from './naming.js';

/** exchange.* and queue.* methods. Returns false for any other method. */
export function handleTopologyMethod(ch: Channel, m: Method): boolean {
  const session = ch.session;
  const vh = session.vhost;
  switch (m.id) {
    case M.ExchangeDeclare:
      vh.declareExchange(
        { name: m.exchange, type: m.type, durable: m.durable, autoDelete: m.autoDelete, internal: m.internal, args: m.arguments },
        m.passive,
      );
      if (!m.nowait) ch.reply({ id: M.ExchangeDeclareOk });
      return true;
    case M.ExchangeDelete:
      vh.deleteExchange(m.exchange, m.ifUnused);
      if (!m.nowait) ch.reply({ id: M.ExchangeDeleteOk });
      return true;
    case M.ExchangeBind:
    case M.ExchangeUnbind: {
      if (m.destination === '' || m.source === '') throw new ChannelError(403, 'operation not permitted on the default exchange');
      const src = vh.exchangeOrDie(m.source);
      const dest = vh.exchangeOrDie(m.destination);
      if (m.id === M.ExchangeBind) vh.bindExchange(dest, src, m.routingKey, m.arguments);
      else vh.unbindExchange(dest, src, m.routingKey, m.arguments);
      if (!m.nowait) ch.reply(m.id === M.ExchangeBind ? { id: M.ExchangeBindOk } : { id: M.ExchangeUnbindOk });
      return true;
    }
    case M.QueueDeclare: {
      let name = m.queue;
      if (m.passive) {
        if (name === REPLY_TO || vh.replies.lookup(name) !== undefined) {
          // RabbitMQ answers for the pseudo-queue with no messages and one consumer.
          if (!m.nowait) ch.reply({ id: M.QueueDeclareOk, queue: name, messageCount: 0, consumerCount: 1 });
          return true;
        }
        const q = vh.queueOrDie(ch.queueName(name), session);
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
    case M.QueueBind:
    case M.QueueUnbind: {
      if (m.exchange === '') throw new ChannelError(403, 'operation not permitted on the default exchange');
      const x = vh.exchangeOrDie(m.exchange);
      const q = vh.queueOrDie(ch.queueName(m.queue), session);
      // An empty key with an empty queue name means "the last declared queue's name".
      const key = m.queue === '' && m.routingKey === '' ? q.name : m.routingKey;
      if (m.id === M.QueueBind) {
        vh.bindQueue(q, x, key, m.arguments);
        if (!m.nowait) ch.reply({ id: M.QueueBindOk });
      } else {
        vh.unbindQueue(q, x, key, m.arguments);
        ch.reply({ id: M.QueueUnbindOk });
      }
      return true;
    }
    case M.QueuePurge: {
      const q = vh.queueOrDie(ch.queueName(m.queue), session);
      const count = q.purge();
      if (!m.nowait) ch.reply({ id: M.QueuePurgeOk, messageCount: count });
      return true;
    }
    case M.QueueDelete: {
      const name = ch.queueName(m.queue);
      const q = vh.queues.get(name);
      let count = 0;
      if (q !== undefined) {
        vh.checkExclusive(q, session);
        if (m.ifUnused && q.consumerCount > 0) throw new ChannelError(406, `${q.resource} in use`);
        if (m.ifEmpty && q.messageCount > 0) throw new ChannelError(406, `${q.resource} not empty`);
        count = vh.deleteQueue(q);
      }
      if (!m.nowait) ch.reply({ id: M.QueueDeleteOk, messageCount: count });
      return true;
    }
    default:
      return false;
  }
}
