// startBroker({ definitions }) and the per-test vhosts of a running broker (createVhost,
// vhost(name).reset(), delete()), driven by amqplib over real sockets.
import amqp, { type ChannelModel } from 'amqplib';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../../testing/index.js';

const examples = new URL('../../../examples/definitions.json', import.meta.url);
const definitions = readFileSync(examples, 'utf8');

let broker: RunningBroker | null = null;
let dir: string | null = null;
afterEach(async () => {
  await broker?.close();
  broker = null;
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

/** Publishes with confirms and returns which of the queues got the message. */
async function publishAndSee(url: string, exchange: string, key: string, queues: string[], headers?: Record<string, unknown>): Promise<string[]> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createConfirmChannel();
    ch.publish(exchange, key, Buffer.from('m'), headers === undefined ? {} : { headers });
    await ch.waitForConfirms();
    const got: string[] = [];
    for (const q of queues) if ((await ch.get(q, { noAck: true })) !== false) got.push(q);
    return got;
  } finally {
    await conn.close();
  }
}

/** The reply code and text the server closes this connection with. */
function serverClose(conn: ChannelModel): Promise<string> {
  return new Promise((resolve) => {
    conn.on('error', (err: Error) => resolve(err.message));
    conn.on('close', (err?: Error) => resolve(err?.message ?? 'closed by client'));
  });
}

async function replyCodeOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code: number }).code;
  }
}

const ALL = ['orders.eu', 'orders.us', 'orders.created', 'orders.dead', 'audit.all', 'audit.eu'];

describe('startBroker({ definitions })', () => {
  it('declares the topology of a definitions file, object or JSON text', async () => {
    for (const source of [examples.pathname, JSON.parse(definitions) as object, definitions]) {
      broker = await startBroker({ definitions: source });
      expect(await publishAndSee(broker.url, 'orders', 'eu.created', ALL, { region: 'eu' })).toEqual(['orders.eu', 'orders.created', 'audit.all', 'audit.eu']);
      expect(await publishAndSee(broker.url, 'orders', 'apac', ALL)).toEqual(['orders.dead']);
      await broker.close();
      broker = null;
    }
  });

  it("loads a real RabbitMQ export's policies, keys Warren does not act on included", async () => {
    broker = await startBroker({
      definitions: {
        queues: [{ name: 'q', vhost: '/', durable: true, auto_delete: false, arguments: {} }],
        policies: [
          { vhost: '/', name: 'ha', pattern: '^q$', 'apply-to': 'queues', priority: 0, definition: { 'ha-mode': 'all', 'ha-sync-mode': 'automatic', 'max-length': 1 } },
          { vhost: '/', name: 'lazy', pattern: '.*', 'apply-to': 'queues', priority: -1, definition: { 'queue-mode': 'lazy' } },
        ],
      },
    });
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    for (const body of ['1', '2']) ch.sendToQueue('q', Buffer.from(body));
    await ch.waitForConfirms();
    expect((await ch.checkQueue('q')).messageCount).toBe(1);
    await conn.close();
    expect(broker.broker.vhosts.get('/')!.policies.list().map((p) => p.name)).toEqual(['ha', 'lazy']);
  });

  it('refuses definitions it cannot load, saying what is wrong', async () => {
    await expect(startBroker({ definitions: '{"bindings":[{"source":"nope","destination":"q","destination_type":"queue"}]}' })).rejects.toThrow(
      "definitions: binding from 'nope' to queue 'q' in vhost '/': NOT_FOUND - no exchange 'nope' in vhost '/'",
    );
    await expect(startBroker({ definitions: '/no/such/file.json' })).rejects.toThrow('cannot read definitions from /no/such/file.json');
    await expect(startBroker({ definitions: { exchanges: [{ name: 'x', type: 'nonsense' }] } })).rejects.toThrow(
      "definitions: exchange 'x' in vhost '/': COMMAND_INVALID - unknown exchange type 'nonsense'",
    );
  });
});

describe('per-test vhosts', () => {
  it("reset() closes the vhost's connections as deleting it does in RabbitMQ, and declares its definitions again", async () => {
    broker = await startBroker({ definitions });
    const other = broker.createVhost('other');
    const conn = await amqp.connect(broker.url);
    const closed = serverClose(conn);
    const bystander = await amqp.connect(other.url);
    const ch = await conn.createChannel();
    await ch.assertQueue('made-by-a-test');
    ch.publish('orders', 'us.created', Buffer.from('left over'));
    await ch.checkQueue('orders.us');

    broker.vhost('/').reset();
    expect(await closed).toContain("320 (CONNECTION-FORCED) with message \"CONNECTION_FORCED - vhost '/' is deleted\"");

    const after = await amqp.connect(broker.url);
    after.on('error', () => {});
    const check = await after.createChannel();
    check.on('error', () => {});
    expect((await check.checkQueue('orders.us')).messageCount).toBe(0);
    expect(await replyCodeOf(check.checkQueue('made-by-a-test'))).toBe(404);
    await after.close().catch(() => {});
    expect(await publishAndSee(broker.url, 'orders', 'us.created', ALL)).toEqual(['orders.us', 'orders.created', 'audit.all']);
    // Another vhost's connections are not touched.
    await (await bystander.createChannel()).close();
    await bystander.close();
  });

  it('createVhost() gives each test its own vhost with the same names, and delete() removes it', async () => {
    broker = await startBroker();
    const a = broker.createVhost(undefined, { definitions });
    const b = broker.createVhost(undefined, { definitions });
    expect([a.name, b.name]).toEqual(['test-1', 'test-2']);
    expect(a.url).toBe(`${broker.url}/test-1`);
    expect(await publishAndSee(a.url, 'orders', 'eu.x', ALL)).toEqual(['orders.eu', 'audit.all']);
    // b saw nothing of a's message.
    expect(await publishAndSee(b.url, 'orders', 'us.x', ['orders.eu', 'orders.us', 'audit.all'])).toEqual(['orders.us', 'audit.all']);
    const conn = await amqp.connect(b.url);
    const closed = serverClose(conn);
    b.delete();
    expect(await closed).toContain("vhost 'test-2' is deleted");
    // amqplib keeps only "got ConnectionClose"; the broker sends 530 NOT_ALLOWED - vhost test-2 not found.
    await expect(amqp.connect(b.url)).rejects.toThrow('got <ConnectionClose');
    expect(() => broker!.vhost('test-2')).toThrow("no vhost 'test-2'");
    expect(() => broker!.createVhost('test-1')).toThrow("vhost 'test-1' already exists");
  });

  it('load() adds definitions to a vhost, and reset() brings them back too', async () => {
    broker = await startBroker();
    const v = broker.createVhost('v');
    v.load({ queues: [{ name: 'extra', vhost: 'elsewhere' }], bindings: [{ source: 'amq.direct', vhost: 'elsewhere', destination: 'extra', destination_type: 'queue', routing_key: 'k' }] });
    expect(await publishAndSee(v.url, 'amq.direct', 'k', ['extra'])).toEqual(['extra']);
    v.reset();
    expect(await publishAndSee(v.url, 'amq.direct', 'k', ['extra'])).toEqual(['extra']);
    expect(broker.broker.vhosts.has('elsewhere')).toBe(false);
  });

  it('keeps vhosts created with a data directory in its definitions file, and forgets deleted ones', async () => {
    dir = mkdtempSync(join(tmpdir(), 'warren-vhosts-'));
    broker = await startBroker({ dataDir: dir });
    broker.createVhost('kept', { definitions });
    broker.createVhost('gone', { definitions });
    broker.vhost('gone').delete();
    await broker.close();
    const saved = JSON.parse(readFileSync(join(dir, 'definitions.json'), 'utf8')) as { vhosts: { name: string }[]; queues: { vhost: string }[] };
    expect(saved.vhosts.map((v) => v.name).sort()).toEqual(['/', 'kept']);
    expect(new Set(saved.queues.map((q) => q.vhost))).toEqual(new Set(['kept']));
    broker = await startBroker({ dataDir: dir });
    expect(await publishAndSee(broker.vhost('kept').url, 'orders', 'eu.created', ALL)).toEqual(['orders.eu', 'orders.created', 'audit.all']);
  });
});
