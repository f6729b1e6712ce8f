// Access control through pika (python3-pika): a refused login and vhost, refused channel
// operations, topic permissions, the queue limit and the user connection and channel
// limits, with RabbitMQ 3.10.8's codes and texts (checked with WARREN_REFERENCE_URL and
// RABBITMQ_MGMT_URL against a real RabbitMQ, through the same helper).
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { useAccessBroker } from '../helpers/access.js';

const PYTHONS = ['/usr/bin/python3', 'python3'];
const python = PYTHONS.find((p) => spawnSync(p, ['-c', 'import pika'], { stdio: 'ignore' }).status === 0);
if (python === undefined) console.warn('pika access tests skipped: no python3 with pika (apt-get install python3-pika)');
const script = fileURLToPath(new URL('./pika_access.py', import.meta.url));

const t = useAccessBroker((p) => ({
  users: [
    { name: p('alice'), password: 'alice-pw' },
    { name: p('nobody'), password: 'nobody-pw' },
    { name: p('lim'), password: 'lim-pw', limits: { 'max-connections': 1, 'max-channels': 2 } },
  ],
  vhosts: [{ name: p('v'), limits: { 'max-queues': 1 } }],
  permissions: [
    { user: p('alice'), vhost: '/', configure: `^${p('')}[rw]*c`, write: `^(${p('')}[cr]*w|amq\\.topic$)`, read: `^${p('')}[cw]*r` },
    { user: p('lim'), vhost: p('v'), configure: '.*', write: '.*', read: '.*' },
  ],
  topic_permissions: [{ user: p('alice'), vhost: '/', exchange: 'amq.topic', write: '^t\\.{username}\\.', read: '.*' }],
}));

describe.skipIf(python === undefined)('pika against access control', () => {
  let out: Record<string, unknown>;
  beforeAll(async () => {
    const admin = await t.connect('guest', 'guest');
    const ch = await admin.createChannel();
    await ch.assertQueue(t.p('w.q'), { autoDelete: true });
    await ch.assertExchange(t.p('w.x'), 'direct', { autoDelete: false });
    const base = new URL(t.url('guest', 'guest'));
    const child = spawn(python!, [script, base.hostname, base.port, t.p('')]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    await ch.deleteExchange(t.p('w.x'));
    await ch.deleteQueue(t.p('w.q'));
    if (code !== 0) throw new Error(`pika_access.py exited ${code}: ${stderr}`);
    out = JSON.parse(stdout) as Record<string, unknown>;
  }, 30000);

  test('login and vhost refusals', () => {
    const p = t.p('');
    expect(out['bad_password']).toEqual(['auth', 'ConnectionClosedByBroker: (403) \'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.\'']);
    expect(out['no_vhost_access']).toEqual(['access', `ConnectionClosedByBroker: (530) "NOT_ALLOWED - access to vhost '/' refused for user '${p}nobody'"`]);
  });

  test('channel operations: RabbitMQ\'s 403s', () => {
    const p = t.p('');
    const refused = (kind: string, name: string) => [403, `ACCESS_REFUSED - access to ${kind} '${name}' in vhost '/' refused for user '${p}alice'`];
    expect(out['declare']).toEqual(refused('queue', `${p}r.new`));
    expect(out['declare_ok']).toBe('ok');
    expect(out['publish_default']).toEqual(refused('exchange', 'amq.default'));
    expect(out['publish_ok']).toBe('ok');
    expect(out['get']).toEqual(refused('queue', `${p}w.q`));
    expect(out['bind']).toEqual(refused('exchange', `${p}w.x`));
    expect(out['topic']).toEqual([403, `ACCESS_REFUSED - access to topic 'other.key' in exchange 'amq.topic' in vhost '/' refused for user '${p}alice'`]);
    expect(out['topic_ok']).toBe('ok');
  });

  test('limits', () => {
    const p = t.p('');
    expect(out['queue_limit']).toEqual([406, `PRECONDITION_FAILED - cannot declare queue 'q2': queue limit in vhost '${p}v' (1) is reached`]);
    expect(out['user_connection_limit']).toEqual(['access', `ConnectionClosedByBroker: (530) "NOT_ALLOWED - connection refused for user '${p}lim': user connection limit (1) is reached"`]);
    expect(out['channel_limit']).toEqual([530, `NOT_ALLOWED - number of channels opened for user '${p}lim' has reached the maximum allowed user limit of (2)`]);
  });
});
