// A small, busy topology for the screenshots: exchanges, queues and bindings, a publisher
// and two consumers with real traffic, so that every page has something to show.
import amqp from 'amqplib';

export interface Demo {
  stop(): Promise<void>;
}

const QUEUES: [string, Record<string, unknown>, boolean][] = [
  ['orders.created', {}, true],
  ['orders.shipped', { 'x-message-ttl': 3_600_000 }, true],
  ['billing.invoices', { 'x-max-length': 10_000, 'x-dead-letter-exchange': 'billing.dlx' }, true],
  ['billing.dead-letters', {}, true],
  ['audit.log', { 'x-queue-mode': 'lazy' }, true],
  ['tasks.priority', { 'x-max-priority': 10 }, false],
  ['notifications.email', { 'x-single-active-consumer': true }, true],
];

export async function startDemo(amqpUrl: string): Promise<Demo> {
  const admin = await amqp.connect(amqpUrl, { clientProperties: { connection_name: 'setup' } });
  const ch = await admin.createChannel();
  await ch.assertExchange('orders', 'topic', { durable: true });
  await ch.assertExchange('events', 'fanout', { durable: true });
  await ch.assertExchange('billing.dlx', 'direct', { durable: true });
  for (const [name, args, durable] of QUEUES) await ch.assertQueue(name, { durable, arguments: args });
  await ch.bindQueue('orders.created', 'orders', 'order.created.#');
  await ch.bindQueue('orders.shipped', 'orders', 'order.shipped.#');
  await ch.bindQueue('billing.invoices', 'orders', 'order.*.eu');
  await ch.bindQueue('billing.dead-letters', 'billing.dlx', 'billing.invoices');
  await ch.bindQueue('audit.log', 'events', '');
  await ch.bindExchange('events', 'orders', '#');
  for (let i = 0; i < 3; i++) ch.sendToQueue('tasks.priority', Buffer.from(`task ${i}`), { priority: i * 3 });
  await admin.close();

  const publisher = await amqp.connect(amqpUrl, { clientProperties: { connection_name: 'order-service' } });
  const pch = await publisher.createConfirmChannel();
  const consumer = await amqp.connect(amqpUrl, { clientProperties: { connection_name: 'billing-worker' } });
  const cch = await consumer.createChannel();
  await cch.prefetch(20);
  await cch.consume('orders.created', (m) => m !== null && cch.ack(m));
  await cch.consume('billing.invoices', (m) => m !== null && cch.ack(m));
  const auditor = await amqp.connect(amqpUrl, { clientProperties: { connection_name: 'audit-archiver' } });
  const ach = await auditor.createChannel();
  await ach.prefetch(50);
  // Acks half of what it gets, so the audit queue keeps a backlog and some unacked messages.
  let seen = 0;
  await ach.consume('audit.log', (m) => {
    if (m !== null && seen++ % 2 === 0) ach.ack(m);
  });

  let n = 0;
  const regions = ['eu', 'us', 'apac'];
  const timer = setInterval(() => {
    for (let i = 0; i < 12; i++) {
      const kind = n % 5 === 0 ? 'shipped' : 'created';
      pch.publish('orders', `order.${kind}.${regions[n % 3]}`, Buffer.from(JSON.stringify({ id: n, kind })), { contentType: 'application/json', persistent: n % 2 === 0 });
      n++;
    }
    // An unroutable one now and then, so the drop rate is not always zero.
    if (n % 60 === 0) pch.publish('billing.dlx', 'nowhere', Buffer.from('lost'));
  }, 100);

  return {
    async stop() {
      clearInterval(timer);
      for (const c of [publisher, consumer, auditor]) await c.close().catch(() => undefined);
    },
  };
}
