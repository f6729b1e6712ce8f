// GET /api/federation-links and its siblings, over a real socket, as the federation
// management plugin answers them.
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userFromInput } from '../../../server/access/users.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { federate, linksRunning, waitUntil } from '../../helpers/federation.js';
import { startWithApi, type ApiBroker } from '../../helpers/http.js';

let up: RunningBroker;
let down: ApiBroker;
let conn: ChannelModel;

beforeAll(async () => {
  up = await startBroker({ port: 0, clusterName: 'up-cluster' });
  down = await startWithApi({ clusterName: 'down-cluster' });
  conn = await amqp.connect(down.url);
  const ch = await conn.createChannel();
  await ch.assertExchange('hx', 'fanout');
  await ch.assertQueue('hq');
  const a = down.broker.access;
  a.putUser(userFromInput({ name: 'mon', password: 'mon', tags: ['monitoring'] }));
  a.putUser(userFromInput({ name: 'mgr', password: 'mgr', tags: ['management'] }));
  for (const u of ['mon', 'mgr']) a.setPermissions(u, '/', { configure: '.*', write: '.*', read: '.*' });
});

afterAll(async () => {
  await conn.close();
  await down.close();
  await up.close();
});

describe('GET /api/federation-links', () => {
  it('lists each link with RabbitMQ fields, and its local channel', async () => {
    federate(down.broker, 'hu', { uri: `${up.url}/%2f` }, '^hx$');
    federate(down.broker, 'hqu', { uri: `${up.url}/%2f` }, '^hq$', { applyTo: 'queues' });
    await linksRunning(down.broker, 2);
    const r = await down.api('GET', '/api/federation-links');
    expect(r.status).toBe(200);
    const [x, q] = [...(r.body as Record<string, unknown>[])].sort((a, b) => String(a['type']).localeCompare(String(b['type'])));
    expect(Object.keys(x!)).toEqual(['node', 'exchange', 'upstream_exchange', 'type', 'vhost', 'upstream', 'id', 'status', 'local_connection', 'uri', 'timestamp', 'local_channel']);
    expect(Object.keys(q!)).toEqual(['node', 'queue', 'upstream_queue', 'consumer_tag', 'type', 'vhost', 'upstream', 'id', 'status', 'local_connection', 'uri', 'timestamp', 'local_channel']);
    expect(x).toMatchObject({ node: down.broker.nodeName, exchange: 'hx', upstream_exchange: 'hx', type: 'exchange', vhost: '/', upstream: 'hu', status: 'running', uri: `${up.url.replace('guest:guest@', '')}/%2f` });
    const ch = x!['local_channel'] as Record<string, unknown>;
    expect(ch).toMatchObject({ confirm: true, user: 'none', vhost: '/', number: 1, connection_details: { name: x!['local_connection'] } });
    // The local connection is listed among the connections, as the broker's own user.
    const conns = (await down.api('GET', '/api/connections')).body as Record<string, unknown>[];
    const local = conns.find((c) => c['name'] === x!['local_connection'])!;
    expect([local['user'], local['vhost'], local['user_provided_name']]).toEqual(['none', '/', 'Federation link (upstream: hu, policy: fed-hu)']);
    // Per vhost, and paged or trimmed as any list.
    expect(((await down.api('GET', '/api/federation-links/%2F')).body as unknown[]).length).toBe(2);
    expect((await down.api('GET', '/api/federation-links/nosuch')).status).toBe(404);
    expect((await down.api('GET', '/api/federation-links?columns=upstream,status&sort=upstream')).body).toEqual([
      { upstream: 'hqu', status: 'running' },
      { upstream: 'hu', status: 'running' },
    ]);
  });

  it('is for monitoring users and administrators', async () => {
    expect((await down.api('GET', '/api/federation-links', undefined, { user: 'mon', password: 'mon' })).status).toBe(200);
    const r = await down.api('GET', '/api/federation-links', undefined, { user: 'mgr', password: 'mgr' });
    expect([r.status, r.body]).toEqual([401, { error: 'not_authorised', reason: 'Not monitor user' }]);
  });

  it('state/down lists the links that are neither running nor starting', async () => {
    expect((await down.api('GET', '/api/federation-links/state/down')).body).toEqual([]);
    const probe = await startBroker({ port: 0 });
    const port = probe.port;
    await probe.close();
    down.broker.access.setParameter('/', 'federation-upstream', 'nowhere', { uri: `amqp://guest:guest@127.0.0.1:${port}/%2f`, 'reconnect-delay': 60 });
    down.broker.vhosts.get('/')!.setPolicy({ vhost: '/', name: 'fed-hu', pattern: '^hx$', applyTo: 'exchanges', priority: 0, definition: { 'federation-upstream-set': 'all' } });
    await waitUntil(() => down.broker.federation.status('n').some((l) => l['status'] === 'error'), 'the error');
    const downLinks = (await down.api('GET', '/api/federation-links/%2F/state/down')).body as Record<string, unknown>[];
    expect(downLinks.map((l) => [l['exchange'], l['upstream'], l['status']])).toEqual([['hx', 'nowhere', 'error']]);
    expect(Object.keys(downLinks[0]!)).toEqual(['node', 'exchange', 'upstream_exchange', 'type', 'vhost', 'upstream', 'id', 'status', 'error', 'uri', 'timestamp']);
    down.broker.access.clearParameter('/', 'federation-upstream', 'nowhere');
  });

  it('DELETE …/restart restarts a link', async () => {
    const [x] = ((await down.api('GET', '/api/federation-links?columns=id,exchange,local_connection')).body as Record<string, string>[]).filter((l) => l['exchange'] === 'hx');
    const node = down.broker.nodeName;
    const r = await down.api('DELETE', `/api/federation-links/vhost/%2F/${x!['id']}/${encodeURIComponent(node)}/restart`);
    expect(r.status).toBe(204);
    await waitUntil(() => down.broker.federation.linksOf('/', 'exchange', 'hx')[0]?.localConnection !== x!['local_connection'] && down.broker.federation.linksOf('/', 'exchange', 'hx')[0]?.state === 'running', 'the restarted link');
    expect((await down.api('DELETE', `/api/federation-links/vhost/%2F/00000000/${encodeURIComponent(node)}/restart`)).status).toBe(404);
  });
});
