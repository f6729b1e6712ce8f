// rabbitmqadmin (Debian's rabbitmq-server ships it as /usr/bin/rabbitmqadmin), a real client
// of the management API: the same session of declare, publish, list, get, purge and delete
// prints the same thing against Warren as against RabbitMQ 3.10 (recorded below, and
// compared live when RABBITMQ_MGMT_URL is set).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * Users, permissions, limits, operator policies and parameters, and a per-vhost export and
 * import, in vhost V with the user USER; lists of the whole broker keep only this
 * session's rows (and their heading).
 */
const ACCESS_SESSION: [string[], string][] = [
  [['declare', 'user', 'name=USER', 'password=secret', 'tags=monitoring,management'], 'user declared\n'],
  [['-f', 'tsv', 'list', 'users', 'name', 'tags'], 'name\ttags\nUSER\tmonitoring management\n'],
  [['declare', 'permission', 'vhost=VHOST', 'user=USER', 'configure=^adm', 'write=.*', 'read=.*'], 'permission declared\n'],
  [['-f', 'tsv', 'list', 'permissions', 'user', 'vhost', 'configure', 'write', 'read'], 'user\tvhost\tconfigure\twrite\tread\nguest\tVHOST\t.*\t.*\t.*\nUSER\tVHOST\t^adm\t.*\t.*\n'],
  [['declare', 'vhost_limit', 'vhost=VHOST', 'name=max-queues', 'value=5'], 'vhost_limit declared\n'],
  [['-f', 'tsv', 'list', 'vhost_limits'], 'vhost\tvalue\nVHOST\t{"max-queues": 5}\n'],
  [['declare', 'operator_policy', 'name=adm-op', 'pattern=^adm', 'definition={"max-length":100}', 'apply-to=queues'], 'operator_policy declared\n'],
  [['-f', 'tsv', 'list', 'operator_policies', 'name', 'pattern', 'apply-to', 'definition', 'priority'], 'name\tpattern\tapply-to\tdefinition\tpriority\nadm-op\t^adm\tqueues\t{"max-length": 100}\t0\n'],
  [
    ['-f', 'tsv', 'list', 'parameters'],
    'vhost\tname\tcomponent\tvalue\nVHOST\tadm-op\toperator_policy\t{"pattern": "^adm", "definition": {"max-length": 100}, "priority": 0, "apply-to": "queues"}\nVHOST\tlimits\tvhost-limits\t{"max-queues": 5}\n',
  ],
  [['declare', 'queue', 'name=adm-q', 'durable=true'], 'queue declared\n'],
  [['export', 'FILE'], 'Exported definitions for HOST to "FILE"\n'],
  [['delete', 'user', 'name=USER'], 'user deleted\n'],
  [['delete', 'queue', 'name=adm-q'], 'queue deleted\n'],
  [['delete', 'operator_policy', 'name=adm-op'], 'operator_policy deleted\n'],
  [['delete', 'vhost_limit', 'vhost=VHOST', 'name=max-queues'], 'vhost_limit deleted\n'],
  // The vhost-limits parameter stays, empty, once its last limit is cleared: RabbitMQ lists it as [].
  [['-f', 'tsv', 'list', 'vhost_limits'], 'vhost\tvalue\nVHOST\t\n'],
  [['import', 'FILE'], 'Uploaded definitions from "HOST" to FILE. The import process may take some time. Consult server logs to track progress.\n'],
  [['-f', 'tsv', 'list', 'queues', 'name'], 'name\nadm-q\n'],
  [['-f', 'tsv', 'list', 'operator_policies', 'name', 'definition'], 'name\tdefinition\nadm-op\t{"max-length": 100}\n'],
  [['-f', 'tsv', 'list', 'vhost_limits'], 'vhost\tvalue\nVHOST\t{"max-queues": 5}\n'],
  [['-f', 'tsv', 'list', 'users', 'name'], 'name\n'],
  [['delete', 'user', 'name=USER'], 'exit 1: *** Not found: /api/users/USER\n\n'],
];

/** Listing counts come from RabbitMQ's statistics, refreshed every 5 seconds: wait for them there. */
const STATS_WAIT: Record<number, boolean> = { 5: true };

let b: ApiBroker;
const vhost = `http-adm-${randomBytes(3).toString('hex')}`;
/** The access session's vhost, and the whole-broker export's. */
const accessVhost = `${vhost}-acc`;
const exportVhost = `${vhost}-all`;

beforeAll(async () => {
  if (!present) return;
  b = await startWithApi();
  for (const v of [vhost, accessVhost, exportVhost]) await b.api('PUT', `/api/vhosts/${v}`, {});
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

/** The access session as one user against host:port, normalised (names, file, host); other users' and vhosts' rows dropped. */
async function accessSession(host: string, port: string, user: string, password: string, who: string, file: string): Promise<string[]> {
  const out: string[] = [];
  const vhost = accessVhost;
  for (const [args, _] of ACCESS_SESSION) {
    const real = args.map((a) => a.replaceAll('VHOST', vhost).replaceAll('USER', who).replaceAll('FILE', file));
    let got = await admin(host, port, user, password, ['-V', vhost, ...real]);
    if (real.includes('tsv')) got = got.split('\n').filter((line, n) => n === 0 || line === '' || line.includes(who) || line.includes(vhost) || line.startsWith('adm-')).join('\n');
    out.push(got.replaceAll(encodeURIComponent(vhost), 'VHOST').replaceAll(vhost, 'VHOST').replaceAll(who, 'USER').replaceAll(file, 'FILE').replaceAll(host, 'HOST'));
  }
  return out;
}

describe.skipIf(!present)('rabbitmqadmin', () => {
  test('declare, publish, list, get, purge and delete print what they print against RabbitMQ 3.10', async () => {
    const port = new URL(b.managementUrl).port;
    const got = await session('127.0.0.1', port, 'guest', 'guest', false);
    expect(got).toEqual(SESSION.map(([, expected]) => expected));
  }, 60_000);

  test('users, permissions, limits, operator policies, and a per-vhost export and import print what they print against RabbitMQ 3.10', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-admin-'));
    try {
      const got = await accessSession('127.0.0.1', new URL(b.managementUrl).port, 'guest', 'guest', `http2-adm-${randomBytes(3).toString('hex')}`, join(dir, 'v.json'));
      expect(got).toEqual(ACCESS_SESSION.map(([, expected]) => expected));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('export and import of the whole broker: the file is GET /api/definitions, and imports into an empty broker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-admin-'));
    const file = join(dir, 'all.json');
    const port = new URL(b.managementUrl).port;
    const fresh = await startWithApi();
    try {
      await b.api('PUT', '/api/users/adm-all', { password: 'all-secret', tags: 'management' });
      await b.api('PUT', `/api/permissions/${exportVhost}/adm-all`, { configure: '.*', write: '.*', read: '.*' });
      await b.api('PUT', `/api/queues/${exportVhost}/adm-all-q`, { durable: true });
      expect(await admin('127.0.0.1', port, 'guest', 'guest', ['export', file])).toBe(`Exported definitions for 127.0.0.1 to "${file}"\n`);
      const exported = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      expect(exported).toEqual((await b.api('GET', '/api/definitions')).body);
      const freshPort = new URL(fresh.managementUrl).port;
      expect(await admin('127.0.0.1', freshPort, 'guest', 'guest', ['import', file])).toContain('Uploaded definitions from "127.0.0.1"');
      expect((await fresh.api('GET', `/api/queues/${exportVhost}/adm-all-q`)).status).toBe(200);
      expect((await fresh.api('GET', '/api/global-parameters/internal_cluster_id')).body.value).toBe(b.broker.clusterId);
      const amqp = (await import('amqplib')).default;
      await (await amqp.connect(fresh.url.replace('guest:guest', 'adm-all:all-secret') + `/${exportVhost}`)).close();
    } finally {
      await b.api('DELETE', '/api/users/adm-all');
      await b.api('DELETE', `/api/queues/${exportVhost}/adm-all-q`);
      await fresh.close();
      rmSync(dir, { recursive: true, force: true });
    }
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
      const dir = mkdtempSync(join(tmpdir(), 'warren-admin-'));
      const who = `http2-adm-${randomBytes(3).toString('hex')}`;
      await api('PUT', `/api/vhosts/${accessVhost}`, {});
      await b.api('DELETE', `/api/vhosts/${accessVhost}`);
      await b.api('PUT', `/api/vhosts/${accessVhost}`, {});
      try {
        const theirAccess = await accessSession(u.hostname, u.port, rabbit!.user, rabbit!.password, who, join(dir, 'r.json'));
        const ourAccess = await accessSession('127.0.0.1', new URL(b.managementUrl).port, 'guest', 'guest', who, join(dir, 'w.json'));
        expect(ourAccess).toEqual(theirAccess);
      } finally {
        await api('DELETE', `/api/users/${who}`);
        await api('DELETE', `/api/vhosts/${accessVhost}`);
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await api('DELETE', `/api/vhosts/${vhost}`);
    }
  }, 90_000);
});
