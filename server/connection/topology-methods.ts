import { M } from '../../amqp/generated/constants.js';
import type { Method } from '../../amqp/generated/methods.js';
import { ChannelError } from '../../amqp/errors.js';
import type { FieldTable } from '../../amqp/table.js';
import type { Channel } from './channel.js';
import { REPLY_TO } from '../vhost/direct-reply-to.js';
import { checkExchangeType } from '../vhost/vhost.js';
import { READ } from '../access/authz.js';
import { checkServerNamed } from '../queue/arg-validation.js';
import { generateName } from './naming.js';

/**
 * exchange.* and queue.* methods, with RabbitMQ's permission checks in RabbitMQ's order
 * (rabbit_channel): passive declares need nothing, declare and delete need configure,
 * bindings need write on the destination and read on the source (and, on a topic
 * exchange, read on the routing key), purge needs read. Returns false for any other method.
 */
export function handleTopologyMethod(ch: Channel, method: Method): boolean {
  const m = stripCrLf(method);
  const session = ch.session;
  const vh = session.vhost;
  const authz = ch.authz;
  switch (m.id) {
    case M.ExchangeDeclare: {
      if (!m.passive) {
        checkExchangeType(m.type);
        if (m.exchange === '') throw defaultExchangeError();
        authz.configure('exchange', m.exchange);
      }
      const ae = alternateExchange(m.arguments);
      vh.declareExchange(
        { name: m.exchange, type: m.type, durable: m.durable, autoDelete: m.autoDelete, internal: m.internal, args: m.arguments, user: session.user },
        m.passive,
        // A new exchange with an alternate: read on itself and write on the alternate.
        ae === null
          ? undefined
          : () => {
              authz.read('exchange', m.exchange);
              authz.write('exchange', ae);
            },
      );
      if (!m.nowait) ch.reply({ id: M.ExchangeDeclareOk });
      return true;
    }
    case M.ExchangeDelete:
      vh.deleteExchange(m.exchange, m.ifUnused, () => authz.configure('exchange', m.exchange));
      if (!m.nowait) ch.reply({ id: M.ExchangeDeleteOk });
      return true;
    case M.ExchangeBind:
    case M.ExchangeUnbind: {
      authz.write('exchange', m.destination);
      if (m.destination === '' || m.source === '') throw defaultExchangeError();
      authz.read('exchange', m.source);
      const src = vh.exchanges.get(m.source);
      if (src !== undefined && src.type === 'topic') authz.topic(m.source, m.routingKey, READ);
      if (m.id === M.ExchangeBind) {
        const srcX = vh.exchangeOrDie(m.source);
        const dest = vh.exchangeOrDie(m.destination);
        vh.bindExchange(dest, srcX, m.routingKey, m.arguments);
        if (!m.nowait) ch.reply({ id: M.ExchangeBindOk });
      } else {
        // RabbitMQ answers unbind-ok even when either side is missing.
        const dest = vh.exchanges.get(m.destination);
        if (src !== undefined && dest !== undefined) vh.unbindExchange(dest, src, m.routingKey, m.arguments);
        if (!m.nowait) ch.reply({ id: M.ExchangeUnbindOk });
      }
      return true;
    }
    case M.QueueDeclare: {
      let name = m.queue;
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
      if (name === '') {
        checkServerNamed(m.arguments);
        name = generateName('amq.gen');
      } else if (name.startsWith('amq.')) throw new ChannelError(403, `queue name '${name}' contains reserved prefix 'amq.*'`);
      // A server-named queue is checked under its generated name (amq.gen-...), as in RabbitMQ.
      authz.configure('queue', name);
      const dlx = m.arguments['x-dead-letter-exchange'];
      const { queue: q } = vh.declareQueue(
        { name, durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, args: m.arguments },
        session,
        () => {
          vh.checkQueueLimit(name);
          // Dead-lettering reads from this queue and writes to its exchange.
          if (typeof dlx === 'string') {
            authz.read('queue', name);
            authz.write('exchange', dlx);
          }
        },
      );
      ch.lastQueue = q.name;
      if (!m.nowait) ch.reply({ id: M.QueueDeclareOk, queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount });
      return true;
    }
    case M.QueueBind:
    case M.QueueUnbind: {
      const name = ch.queueName(m.queue);
      // An empty key with an empty queue name means "the last declared queue's name".
      const key = m.queue === '' && m.routingKey === '' ? name : m.routingKey;
      authz.write('queue', name);
      if (m.exchange === '') throw defaultExchangeError();
      authz.read('exchange', m.exchange);
      const x = vh.exchanges.get(m.exchange);
      if (x !== undefined && x.type === 'topic') authz.topic(m.exchange, key, READ);
      if (m.id === M.QueueBind) {
        const bx = vh.exchangeOrDie(m.exchange);
        const q = vh.queueOrDie(name, session);
        vh.bindQueue(q, bx, key, m.arguments);
        if (!m.nowait) ch.reply({ id: M.QueueBindOk });
      } else {
        // RabbitMQ answers unbind-ok when the queue, the exchange or the binding is missing.
        const q = vh.queues.get(name);
        if (x !== undefined && q !== undefined) vh.unbindQueue(q, x, key, m.arguments, session);
        ch.reply({ id: M.QueueUnbindOk });
      }
      return true;
    }
    case M.QueuePurge: {
      const name = ch.queueName(m.queue);
      authz.read('queue', name);
      const q = vh.queueOrDie(name, session);
      const count = q.purge();
      if (!m.nowait) ch.reply({ id: M.QueuePurgeOk, messageCount: count });
      return true;
    }
    case M.QueueDelete: {
      const name = ch.queueName(m.queue);
      authz.configure('queue', name);
      const q = vh.queues.get(name);
      let count = 0;
      if (q !== undefined) {
        vh.checkExclusive(q, session);
        q.checkDelete(m.ifUnused, m.ifEmpty);
        count = vh.deleteQueue(q);
      }
      if (!m.nowait) ch.reply({ id: M.QueueDeleteOk, messageCount: count });
      return true;
    }
    default:
      return false;
  }
}

/** The alternate-exchange argument's name, when it is a string. */
function alternateExchange(args: FieldTable): string | null {
  const ae = args['alternate-exchange'];
  return typeof ae === 'string' ? ae : null;
}

function defaultExchangeError(): ChannelError {
  return new ChannelError(403, 'operation not permitted on the default exchange');
}

/**
 * RabbitMQ strips CR and LF from the queue and exchange names of these methods
 * (rabbit_channel:strip_cr_lf) before anything else, so that the stripped name finds the
 * object later; purge, get, consume and publish take the name as it is.
 */
function stripCrLf(m: Method): Method {
  switch (m.id) {
    case M.QueueDeclare:
    case M.QueueDelete:
      return hasCrLf(m.queue) ? { ...m, queue: strip(m.queue) } : m;
    case M.QueueBind:
    case M.QueueUnbind:
      return hasCrLf(m.queue) || hasCrLf(m.exchange) ? { ...m, queue: strip(m.queue), exchange: strip(m.exchange) } : m;
    case M.ExchangeDeclare:
    case M.ExchangeDelete:
      return hasCrLf(m.exchange) ? { ...m, exchange: strip(m.exchange) } : m;
    case M.ExchangeBind:
    case M.ExchangeUnbind:
      return hasCrLf(m.source) || hasCrLf(m.destination) ? { ...m, source: strip(m.source), destination: strip(m.destination) } : m;
    default:
      return m;
  }
}

function hasCrLf(name: string): boolean {
  return name.includes('\r') || name.includes('\n');
}

function strip(name: string): string {
  return name.replace(/[\r\n]/g, '');
}
