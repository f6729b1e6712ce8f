/**
 * Permissions, run as the restricted user of compat/users.json: which operation needs
 * which permission on which resource, in RabbitMQ's order and words. Object names carry
 * letters saying what the user may do with them (`cr.q`: configure and read; `w.x`:
 * write). Objects are made by the admin connection `c`; each step runs on a fresh channel
 * of the restricted connection `r` (a refusal closes the channel).
 */
import type { Ch } from '../client.js';
import type { Ctx } from '../context.js';
import type { Scenario } from '../types.js';

type Step = (ch: Ch, n: (base: string) => string) => Promise<unknown>;

function restricted(name: string, description: string, setup: (admin: Ch, n: (base: string) => string) => Promise<void>, steps: Step[], after?: (admin: Ch, ctx: Ctx) => Promise<void>): Scenario {
  return {
    name: `access/${name}`,
    description,
    restricted: true,
    async run(ctx) {
      ctx.asRestricted('r');
      const n = (base: string) => ctx.n(base);
      const admin = await ctx.channel('admin');
      await setup(admin, n);
      let i = 0;
      for (const step of steps) {
        const ch = await ctx.channel(`s${++i}`, 'r');
        await step(ch, n);
        await ch.sync();
      }
      if (after !== undefined) await after(admin, ctx);
    },
  };
}

const none = async () => {};

export const accessScenarios: Scenario[] = [
  restricted('queue declare', 'queue.declare needs configure (server-named queues too); passive needs nothing', async (a, n) => {
    await a.queue(n('w.q'));
  }, [
    (ch, n) => ch.queue(n('r.q')),
    (ch, n) => ch.queue(n('c.q'), { exclusive: true }),
    (ch) => ch.queue(''),
    (ch, n) => ch.checkQueue(n('w.q')),
    (ch, n) => ch.checkQueue(n('none.q')),
    (ch) => ch.queue('amq.reserved'),
  ]),
  restricted('exchange declare', 'exchange.declare needs configure, even for an existing exchange; passive needs nothing', async (a, n) => {
    await a.exchange(n('r.x'), 'direct');
  }, [
    (ch, n) => ch.exchange(n('w.x2'), 'direct'),
    (ch, n) => ch.exchange(n('r.x'), 'direct'),
    (ch, n) => ch.exchange(n('c.x2'), 'fanout', { autoDelete: true }),
    (ch, n) => ch.checkExchange(n('r.x')),
    (ch) => ch.exchange('amq.reserved', 'direct'),
  ]),
  restricted('delete', 'queue.delete and exchange.delete need configure, even for what does not exist', async (a, n) => {
    await a.queue(n('r.q'));
    await a.queue(n('c.q'));
    await a.exchange(n('c.x'), 'direct');
  }, [
    (ch, n) => ch.deleteQueue(n('r.q')),
    (ch, n) => ch.deleteQueue(n('w.missing')),
    (ch, n) => ch.deleteQueue(n('c.q')),
    (ch, n) => ch.deleteExchange(n('w.missing')),
    (ch, n) => ch.deleteExchange(n('c.x')),
    (ch) => ch.deleteExchange('amq.direct'),
  ]),
  restricted('publish', 'publish needs write on the exchange (amq.default for the default one), checked before the exchange is looked up', async (a, n) => {
    await a.exchange(n('w.x'), 'direct');
    await a.exchange(n('r.x'), 'direct');
    await a.queue(n('w.q'));
    await a.bind(n('w.q'), n('w.x'), 'k');
  }, [
    async (ch, n) => ch.publish('', n('w.q'), 'to default'),
    async (ch, n) => ch.publish(n('r.x'), 'k', 'no write'),
    async (ch, n) => ch.publish(n('r.missing'), 'k', 'no write, missing'),
    async (ch, n) => ch.publish(n('w.missing'), 'k', 'write, missing'),
    async (ch, n) => ch.publish('amq.direct', 'k', 'amq.direct'),
    async (ch, n) => ch.publish(n('w.x'), 'k', 'allowed'),
    async (ch, n) => ch.publish(n('w.x'), 'k', 'impersonating', { userId: 'guest' }),
  ], async (admin, ctx) => {
    await admin.drain(ctx.n('w.q'));
  }),
  restricted('get consume purge', 'basic.get, basic.consume and queue.purge need read on the queue', async (a, n) => {
    await a.queue(n('w.q'));
    await a.queue(n('r.q'));
    a.publish('', n('r.q'), 'm');
    await a.sync();
  }, [
    (ch, n) => ch.get(n('w.q')),
    (ch, n) => ch.consume(n('w.q')),
    (ch, n) => ch.purge(n('w.q')),
    (ch, n) => ch.get(n('r.missing')),
    (ch, n) => ch.get(n('r.q'), true),
    (ch, n) => ch.purge(n('r.q')),
  ]),
  restricted('queue bind', 'queue.bind and unbind: write on the queue, then the default exchange, then read on the exchange', async (a, n) => {
    await a.queue(n('w.q'));
    await a.queue(n('r.q'));
    await a.exchange(n('r.x'), 'direct');
    await a.exchange(n('w.x'), 'direct');
  }, [
    (ch, n) => ch.bind(n('w.q'), n('r.x'), 'k'),
    (ch, n) => ch.bind(n('r.q'), n('r.x'), 'k'),
    (ch, n) => ch.bind(n('w.q'), n('w.x'), 'k'),
    (ch, n) => ch.bind(n('w.q'), '', 'k'),
    (ch, n) => ch.bind(n('r.q'), '', 'k'),
    (ch, n) => ch.bind(n('w.q'), n('r.missing'), 'k'),
    (ch, n) => ch.bind(n('w.missing'), n('r.x'), 'k'),
    (ch, n) => ch.unbind(n('r.q'), n('r.x'), 'k'),
    (ch, n) => ch.unbind(n('w.q'), n('r.x'), 'k'),
  ]),
  restricted('exchange bind', 'exchange.bind and unbind: write on the destination, read on the source', async (a, n) => {
    await a.exchange(n('r.x'), 'direct');
    await a.exchange(n('w.x'), 'direct');
  }, [
    (ch, n) => ch.bindEx(n('w.x'), n('r.x'), 'k'),
    (ch, n) => ch.bindEx(n('r.x'), n('w.x'), 'k'),
    (ch, n) => ch.bindEx(n('w.x'), n('w.x'), 'k'),
    (ch, n) => ch.unbindEx(n('r.x'), n('w.x'), 'k'),
    (ch, n) => ch.unbindEx(n('w.x'), n('r.x'), 'k'),
  ]),
  restricted('dead letter and alternate', 'a new queue with a DLX needs read on itself and write on the DLX; an exchange with an AE likewise', async (a, n) => {
    await a.exchange(n('w.x'), 'direct');
    await a.exchange(n('r.x'), 'direct');
  }, [
    (ch, n) => ch.queue(n('cr.q'), { deadLetterExchange: n('w.x') }),
    (ch, n) => ch.queue(n('cr.q2'), { deadLetterExchange: n('r.x') }),
    (ch, n) => ch.queue(n('c.q'), { deadLetterExchange: n('w.x') }),
    (ch, n) => ch.queue(n('cr.q3'), { deadLetterExchange: '' }),
    (ch, n) => ch.exchange(n('cr.ae'), 'direct', { alternateExchange: n('w.x') }),
    (ch, n) => ch.exchange(n('c.ae'), 'direct', { alternateExchange: n('w.x') }),
    (ch, n) => ch.exchange(n('cr.ae2'), 'direct', { alternateExchange: n('r.x') }),
  ]),
  restricted('topic permissions', 'topic permissions on amq.topic: write on the routing key to publish ({username} expanded), read on the binding key to bind ({vhost} expanded)', async (a, n) => {
    await a.queue(n('w.q'));
    await a.bind(n('w.q'), 'amq.topic', 't.#');
  }, [
    async (ch) => ch.publish('amq.topic', 't.compat-restricted.x', 'allowed key'),
    async (ch) => ch.publish('amq.topic', 't.other.x', 'refused key'),
    (ch, n) => ch.bind(n('w.q'), 'amq.topic', 'r./'),
    (ch, n) => ch.bind(n('w.q'), 'amq.topic', 'r.x'),
    (ch, n) => ch.unbind(n('w.q'), 'amq.topic', 'r.x'),
    (ch, n) => ch.unbind(n('w.q'), 'amq.topic', 'r./'),
  ], async (admin, ctx) => {
    await admin.drain(ctx.n('w.q'));
  }),
  restricted('default user still allowed', 'the admin connection, beside a refused restricted one, keeps working', none, [
    (ch, n) => ch.queue(n('x.q')),
  ], async (admin, ctx) => {
    await admin.queue(ctx.n('x.q'), { exclusive: true });
  }),
];
