// rabbitmqadmin (Debian's rabbitmq-server ships it as /usr/bin/rabbitmqadmin), a real client
// of the management API: the same session of declare, publish, list, get, purge and delete
// prints the same thing against Warren as against RabbitMQ 3.10 (recorded below, and
// compared live when RABBITMQ_MGMT_URL is set).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rabbitMgmt, startWithApi, type ApiBroker } from '../../helpers/http.js';

const ADMIN = '/usr/bin/rabbitmqadmin';
const present = existsSync(ADMIN);
if (!present) console.warn(`skipping the rabbitmqadmin tests: ${ADMIN} is missing (Debian's rabbitmq-server package ships it)`);

/** Runs rabbitmqadmin against host:port (asynchronously: the broker answers from this process). */
function admin(host: string, port: string, user: string, password: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(ADMIN, ['-H', host, '-P', port, '-u', user, '-p', password, ...args], { encoding: 'utf8' }, (err, out, stderr) => {
      resolve(err === null ? out : `exit ${String(err.code)}: ${out}${stderr}`);
    });
  });
}

/** The session, in vhost V, and what RabbitMQ 3.10.8 printed for each step. */
const SESSION: [string[], string][] = [
  [['declare', 'queue', 'name=adm-q', 'durable=false'], 'queue declared\n'],
  [['declare', 'exchange', 'name=adm-x', 'type=fanout'], 'exchange declared\n'],
  [['declare', 'binding', 'source=adm-x', 'destination=adm-q', 'routing_key=k'], 'binding declared\n'],
  [['publish', 'exchange=adm-x', 'routing_key=k', 'payload=hello'], 'Message published\n'],
  [['publish', 'exchange=amq.default', 'routing_key=adm-q', 'payload=second', 'properties={"content_type":"text/plain"}'], 'Message published\n'],
  [
    ['list', 'queues', 'name', 'messages', 'durable'],
    '+-------+----------+---------+\n| name  | messages | durable |\n+-------+----------+---------+\n| adm-q | 2        | False   |\n+-------+----------+---------+\n',
  ],
  [['-f', 'tsv', 'list', 'bindings'], 'source\tdestination\trouting_key\n\tadm-q\tadm-q\nadm-x\tadm-q\tk\n'],
  [
    ['get', 'queue=adm-q', 'ackmode=ack_requeue_true'],
    '+-------------+----------+---------------+---------+---------------+------------------+------------+-------------+\n' +
      '| routing_key | exchange | message_count | payload | payload_bytes | payload_encoding | properties | redelivered |\n' +
      '+-------------+----------+---------------+---------+---------------+------------------+------------+-------------+\n' +
      '| k           | adm-x    | 1             | hello   | 5             | string           |            | False       |\n' +
      '+-------------+----------+---------------+---------+---------------+------------------+------------+-------------+\n',
  ],
  [
    ['-f', 'raw_json', 'get', 'queue=adm-q', 'count=5', 'ackmode=ack_requeue_false'],
    '[{"payload_bytes":5,"redelivered":true,"exchange":"adm-x","routing_key":"k","message_count":1,"properties":[],"payload":"hello","payload_encoding":"string"},' +
      '{"payload_bytes":6,"redelivered":false,"exchange":"","routing_key":"adm-q","message_count":0,"properties":{"content_type":"text/plain"},"payload":"second","payload_encoding":"string"}]\n',
  ],
  [['publish', 'exchange=amq.default', 'routing_key=adm-q', 'payload=third'], 'Message published\n'],
  [['purge', 'queue', 'name=adm-q'], 'queue purged\n'],
  [['delete', 'binding', 'source=adm-x', 'destination=adm-q', 'destination_type=queue', 'properties_key=k'], 'binding deleted\n'],
  [['-f', 'tsv', 'list', 'bindings'], 'source\tdestination\trouting_key\n\tadm-q\tadm-q\n'],
  [['declare', 'policy', 'name=adm-p', 'pattern=^adm-', 'definition={"max-length":1}', 'apply-to=queues'], 'policy declared\n'],
  [['-f', 'tsv', 'list', 'policies', 'name', 'pattern', 'apply-to', 'definition', 'priority'], 'name\tpattern\tapply-to\tdefinition\tpriority\nadm-p\t^adm-\tqueues\t{"max-length": 1}\t0\n'],
  [['delete', 'policy', 'name=adm-p'], 'policy deleted\n'],
  [['delete', 'queue', 'name=adm-q'], 'queue deleted\n'],
  [['delete', 'exchange', 'name=adm-x'], 'exchange deleted\n'],
  [['list', 'queues'], 'No items\n'],
  [['delete', 'queue', 'name=adm-q'], 'exit 1: *** Not found: /api/queues/VHOST/adm-q\n\n'],
];

/** `list policies` covers every vhost: only this session's policy is compared. */
const OWN_ROWS: Record<number, boolean> = { 14: true };

/** Listing counts come from RabbitMQ's statistics, refreshed every 5 seconds: wait for them there. */
const STATS_WAIT: Record<number, boolean> = { 5: true };

let b: ApiBroker;
const vhost = `http-adm-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  if (!present) return;
  b = await startWithApi();
  await b.api('PUT', `/api/vhosts/${vhost}`, {});
});

afterAll(async () => {
  await b?.close();
});

async function session(host: string, port: string, user: string, password: string, waitForStats: boolean): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < SESSION.length; i++) {
    const args = ['-V', vhost, ...SESSION[i]![0]];
    let got = await admin(host, port, user, password, args);
    if (waitForStats && STATS_WAIT[i]) {
      for (let tries = 0; tries < 30 && got !== SESSION[i]![1]; tries++) {
        await new Promise((r) => setTimeout(r, 500));
        got = await admin(host, port, user, password, args);
      }
    }
    if (OWN_ROWS[i]) got = got.split('\n').filter((line, n) => n === 0 || line.startsWith('adm-') || line === '').join('\n');
    out.push(got.replaceAll(encodeURIComponent(vhost), 'VHOST').replaceAll(vhost, 'VHOST'));
  }
  return out;
}

describe.skipIf(!present)('rabbitmqadmin', () => {
  test('declare, publish, list, get, purge and delete print what they print against RabbitMQ 3.10', async () => {
    const port = new URL(b.managementUrl).port;
    const got = await session('127.0.0.1', port, 'guest', 'guest', false);
    expect(got).toEqual(SESSION.map(([, expected]) => expected));
  }, 60_000);

  const rabbit = rabbitMgmt();
  test.skipIf(rabbit === null)('the same session against the live RabbitMQ prints the same', async () => {
    const u = new URL(rabbit!.base);
    const api = (await import('../../helpers/http.js')).apiClient(rabbit!.base, rabbit!.user, rabbit!.password);
    await api('PUT', `/api/vhosts/${vhost}`, {});
    await api('PUT', `/api/permissions/${vhost}/${rabbit!.user}`, { configure: '.*', write: '.*', read: '.*' });
    try {
      const theirs = await session(u.hostname, u.port, rabbit!.user, rabbit!.password, true);
      const ours = await session('127.0.0.1', new URL(b.managementUrl).port, 'guest', 'guest', false);
      expect(ours).toEqual(theirs);
    } finally {
      await api('DELETE', `/api/vhosts/${vhost}`);
    }
  }, 90_000);
});
