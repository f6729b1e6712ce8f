// Federation parameters and policies: RabbitMQ's validation texts, upstream sets and
// patterns, the x-federation-upstream exchange type as a client meets it, and links that
// start from stored definitions, wait for an upstream that is down, and run in-process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessError } from '../../../server/access/errors.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { drain, federate, getWithin, linksRunning, waitUntil } from '../../helpers/federation.js';

let up: RunningBroker;
let down: RunningBroker;
let conns: ChannelModel[] = [];

async function channel(b: RunningBroker, vhost = ''): Promise<Channel> {
  const c = await amqp.connect(b.url + vhost);
  conns.push(c);
  const ch = await c.createChannel();
  ch.on('error', () => {});
  return ch;
}

beforeAll(async () => {
  up = await startBroker({ port: 0, clusterName: 'up-cluster' });
  down = await startBroker({ port: 0, clusterName: 'down-cluster' });
});

afterAll(async () => {
  for (const c of conns) await c.close().catch(() => {});
  await down.close();
  await up.close();
});

/** The refusal setParameter throws, as RabbitMQ's HTTP API words it (framed by "Validation failed"). */
function refusal(component: string, value: unknown): string {
  try {
    down.broker.access.setParameter('/', component, 'bad1', value);
  } catch (err) {
    expect(err).toBeInstanceOf(AccessError);
    const m = /^Validation failed\n\n([^]*)\n$/.exec((err as Error).message);
    expect(m).not.toBeNull();
    return m![1]!;
  }
  return 'accepted';
}

describe('federation-upstream and federation-upstream-set values', () => {
  it('are refused with RabbitMQ 3.10.8 texts, every error listed', () => {
    expect(refusal('federation-upstream', {})).toBe('Key "uri" not found in bad1');
    expect(refusal('federation-upstream', { uri: 'foo' })).toBe('"foo" not a valid URI: {{unable_to_parse_uri,no_scheme},"foo"}');
    expect(refusal('federation-upstream', { uri: 5 })).toBe('uri should be list, actually was 5');
    expect(refusal('federation-upstream', { uri: ['amqp://', 'bad'] })).toBe('"bad" not a valid URI: {{unable_to_parse_uri,no_scheme},"bad"}');
    expect(refusal('federation-upstream', { uri: 'amqp://h:99999' })).toBe('"amqp://h:99999" not a valid URI: {{port_out_of_range,99999},"amqp://h:99999"}');
    expect(refusal('federation-upstream', { uri: 'amqp://', 'ack-mode': 'bogus' })).toBe('ack-mode should be one of [<<"no-ack">>,<<"on-publish">>,<<"on-confirm">>], actually was <<"bogus">>');
    expect(refusal('federation-upstream', { uri: 'amqp://', 'trust-user-id': 'yes' })).toBe('trust-user-id should be boolean, actually was <<"yes">>');
    expect(refusal('federation-upstream', { uri: 'amqp://', exchange: 5 })).toBe('exchange should be binary, actually was 5');
    expect(refusal('federation-upstream', { uri: 'foo', 'prefetch-count': 'x', zz: 1 })).toBe(
      ['Unrecognised terms [{<<"zz">>,1}] in bad1', 'prefetch-count should be a number, actually was <<"x">>', '"foo" not a valid URI: {{unable_to_parse_uri,no_scheme},"foo"}'].join('\n'),
    );
    expect(refusal('federation-upstream', { 'prefetch-count': 'x', 'ack-mode': 1 })).toBe(
      ['ack-mode should be binary, actually was 1', 'prefetch-count should be a number, actually was <<"x">>', 'Key "uri" not found in bad1'].join('\n'),
    );
    expect(refusal('federation-upstream', { uri: 'amqp://', 'max-hops': '1', 'reconnect-delay': true, expires: 'a', 'message-ttl': 'b', queue: 1 })).toBe(
      [
        'message-ttl should be a number, actually was <<"b">>',
        'expires should be a number, actually was <<"a">>',
        'max-hops should be a number, actually was <<"1">>',
        'reconnect-delay should be a number, actually was true',
        'queue should be binary, actually was 1',
      ].join('\n'),
    );
    expect(refusal('federation-upstream-set', [{ upstream: 'a' }, { x: 1 }])).toBe('Unrecognised terms [{<<"x">>,1}] in bad1\nKey "upstream" not found in bad1');
    expect(refusal('federation-upstream-set', [{ upstream: 5 }])).toBe('upstream should be binary, actually was 5');
    expect(refusal('federation-upstream-set', [{ upstream: 'a', 'prefetch-count': 'x' }])).toBe('prefetch-count should be a number, actually was <<"x">>');
    // Where RabbitMQ answers 500 (a value that is not an object or list), a clear refusal.
    expect(refusal('federation-upstream', 'str')).toBe('federation-upstream bad1: the value must be an object, not <<"str">>');
    expect(refusal('federation-upstream-set', { upstream: 'a' })).toBe('federation-upstream-set bad1: the value must be a list, not #{<<"upstream">> => <<"a">>}');
    // Accepted as RabbitMQ accepts them.
    expect(refusal('federation-upstream', { uri: ['amqp://', 'amqps://h:5671/v?verify=verify_peer'], 'max-hops': 1.5, expires: -1 })).toBe('accepted');
    expect(down.broker.vhosts.get('/')!.parameters.has('federation-upstream/bad1')).toBe(true);
    down.broker.access.clearParameter('/', 'federation-upstream', 'bad1');
  });
});

describe('the x-federation-upstream exchange type', () => {
  it('is declared only with x-max-hops as a long, compared on redeclare, as RabbitMQ answers', async () => {
    const attempt = async (args: Record<string, unknown>): Promise<string> => {
      const ch = await channel(up);
      try {
        await ch.assertExchange('xfu-t', 'x-federation-upstream', { durable: false, arguments: args });
        return 'ok';
      } catch (err) {
        return (err as Error).message.replace(/^.*with message "/, '').replace(/"$/, '');
      }
    };
    expect(await attempt({})).toBe('PRECONDITION_FAILED - Argument x-max-hops missing');
    expect(await attempt({ 'x-max-hops': 1 })).toBe('PRECONDITION_FAILED - Argument x-max-hops must be of type long');
    expect(await attempt({ 'x-max-hops': 'a' })).toBe('PRECONDITION_FAILED - Argument x-max-hops must be of type long');
    expect(await attempt({ 'x-max-hops': { '!': 'long', value: 1 } })).toBe('ok');
    expect(await attempt({ 'x-max-hops': { '!': 'long', value: 2 } })).toBe("PRECONDITION_FAILED - inequivalent arg 'x-max-hops' for exchange 'xfu-t' in vhost '/': received '2' but current is '1'");
    expect(await attempt({ 'x-max-hops': { '!': 'long', value: 1 }, 'x-downstream-name': 'zz' })).toBe('ok');
    expect(await attempt({})).toBe("PRECONDITION_FAILED - inequivalent arg 'x-max-hops' for exchange 'xfu-t' in vhost '/': received none but current is the value '1' of type 'long'");
  });

  it('drops what has made max-hops hops or has been through its downstream', async () => {
    const ch = await channel(up);
    await ch.assertExchange('xfu-r', 'x-federation-upstream', { durable: false, arguments: { 'x-max-hops': { '!': 'long', value: 2 }, 'x-downstream-name': 'dn', 'x-downstream-vhost': 'dv' } });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'xfu-r', 'ignored');
    const hop = (cluster: string, vhost: string) => ({ 'cluster-name': cluster, vhost });
    ch.publish('xfu-r', 'any', Buffer.from('no hops'));
    ch.publish('xfu-r', 'any', Buffer.from('one hop'), { headers: { 'x-received-from': [hop('a', 'v')] } });
    ch.publish('xfu-r', 'any', Buffer.from('two hops'), { headers: { 'x-received-from': [hop('a', 'v'), hop('b', 'v')] } });
    ch.publish('xfu-r', 'any', Buffer.from('seen'), { headers: { 'x-received-from': [hop('dn', 'dv')] } });
    ch.publish('xfu-r', 'any', Buffer.from('other vhost'), { headers: { 'x-received-from': [hop('dn', 'other')] } });
    ch.publish('xfu-r', 'any', Buffer.from('not a list'), { headers: { 'x-received-from': 'x' } });
    expect((await drain(ch, q)).map((m) => m.content.toString())).toEqual(['no hops', 'one hop', 'other vhost', 'not a list']);
  });
});

describe('which upstreams apply', () => {
  it('follows a set (with per-element overrides), a pattern, and "all"', async () => {
    const dch = await channel(down);
    const uch = await channel(up);
    for (const x of ['s-x', 's-y']) await uch.assertExchange(x, 'fanout');
    await dch.assertExchange('sx', 'fanout');
    const q = (await dch.assertQueue('', { exclusive: true })).queue;
    await dch.bindQueue(q, 'sx', '');
    const uri = `${up.url}/%2f`;
    down.broker.access.setParameter('/', 'federation-upstream', 'set-a', { uri, exchange: 's-x' });
    down.broker.access.setParameter('/', 'federation-upstream', 'set-b', { uri, exchange: 'unused' });
    down.broker.access.setParameter('/', 'federation-upstream-set', 'both', [{ upstream: 'set-a' }, { upstream: 'set-b', exchange: 's-y' }, { upstream: 'missing' }]);
    const v = down.broker.vhosts.get('/')!;
    v.setPolicy({ vhost: '/', name: 'sets', pattern: '^sx$', applyTo: 'exchanges', priority: 0, definition: { 'federation-upstream-set': 'both' } });
    await linksRunning(down.broker, 2);
    const links = () =>
      down.broker.federation
        .status('n')
        .map((s) => `${s['upstream']}:${s['upstream_exchange']}`)
        .sort();
    expect(links()).toEqual(['set-a:s-x', 'set-b:s-y']);
    uch.publish('s-x', '', Buffer.from('from x'));
    uch.publish('s-y', '', Buffer.from('from y'));
    expect((await drain(dch, q, 500)).map((m) => m.content.toString()).sort()).toEqual(['from x', 'from y']);
    // A pattern over upstream names.
    v.setPolicy({ vhost: '/', name: 'sets', pattern: '^sx$', applyTo: 'exchanges', priority: 0, definition: { 'federation-upstream-pattern': '-b$' } });
    await waitUntil(() => links().join() === 'set-b:unused', 'the pattern');
    // "all": every upstream of the vhost, as its own parameter says.
    v.setPolicy({ vhost: '/', name: 'sets', pattern: '^sx$', applyTo: 'exchanges', priority: 0, definition: { 'federation-upstream-set': 'all' } });
    await waitUntil(() => links().join() === 'set-a:s-x,set-b:unused', 'all upstreams');
    v.clearPolicy('sets');
    for (const n of ['set-a', 'set-b']) down.broker.access.clearParameter('/', 'federation-upstream', n);
    down.broker.access.clearParameter('/', 'federation-upstream-set', 'both');
    await waitUntil(() => links().length === 0, 'no links');
  });
});

describe('links', () => {
  it('report an upstream that is down, and start once it is up', async () => {
    // A port nothing listens on, then a broker on it.
    const probe = await startBroker({ port: 0 });
    const port = probe.port;
    await probe.close();
    const dch = await channel(down);
    await dch.assertExchange('late', 'fanout');
    const q = (await dch.assertQueue('', { exclusive: true })).queue;
    await dch.bindQueue(q, 'late', '');
    federate(down.broker, 'late-up', { uri: `amqp://guest:guest@127.0.0.1:${port}/%2f`, 'reconnect-delay': 1 }, '^late$');
    await waitUntil(() => down.broker.federation.status('n').some((s) => s['status'] === 'error'), 'the error status');
    const [s] = down.broker.federation.status('n');
    expect(Object.keys(s!)).toEqual(['node', 'exchange', 'upstream_exchange', 'type', 'vhost', 'upstream', 'id', 'status', 'error', 'uri', 'timestamp']);
    expect(s).toMatchObject({ status: 'error', uri: `amqp://127.0.0.1:${port}/%2f` });
    expect(String(s!['error'])).toContain('ECONNREFUSED');
    const late = await startBroker({ port, clusterName: 'late-cluster' });
    try {
      await linksRunning(down.broker, 1);
      const c = await amqp.connect(late.url);
      const ch = await c.createChannel();
      ch.publish('late', '', Buffer.from('made it'));
      expect(((await getWithin(dch, q)) || { content: '' }).content.toString()).toBe('made it');
      await c.close();
    } finally {
      down.broker.vhosts.get('/')!.clearPolicy('fed-late-up');
      await waitUntil(() => down.broker.federation.status('n').length === 0, 'the link stopped');
      await late.close();
    }
  });

  it('run in-process when the URI names no host: between two vhosts of one broker', async () => {
    const b = down.broker;
    b.access.addVhost('src');
    b.access.setPermissions('guest', 'src', { configure: '.*', write: '.*', read: '.*' });
    const src = await channel(down, '/src');
    const dst = await channel(down);
    await src.assertExchange('inproc', 'direct');
    await dst.assertExchange('inproc', 'direct');
    const q = (await dst.assertQueue('', { exclusive: true })).queue;
    await dst.bindQueue(q, 'inproc', 'k');
    federate(b, 'local', { uri: 'amqp:///src' }, '^inproc$');
    await linksRunning(b, 1);
    expect(b.vhosts.get('src')!.queues.has('federation: inproc -> down-cluster:/:inproc')).toBe(true);
    src.publish('inproc', 'k', Buffer.from('same broker'));
    const m = await getWithin(dst, q);
    expect(m && m.properties.headers?.['x-received-from']).toEqual([{ uri: 'amqp:///src', exchange: 'inproc', redelivered: false, 'cluster-name': 'down-cluster', vhost: 'src' }]);
    // Both of the link's connections are in-process, as the broker's own user, 'none'.
    const linkConns = () => [...b.connections].filter((c) => c.clientProperties['connection_name'] === 'Federation link (upstream: local, policy: fed-local)');
    expect(linkConns().map((c) => [c.user, c.vhost.name]).sort()).toEqual([
      ['none', '/'],
      ['none', 'src'],
    ]);
    b.vhosts.get('/')!.clearPolicy('fed-local');
    await waitUntil(() => !b.vhosts.get('src')!.queues.has('federation: inproc -> down-cluster:/:inproc'), 'the upstream queue deleted');
    await waitUntil(() => linkConns().length === 0, 'the in-process connections closed');
  });

  it('start at boot from stored definitions, and from a definitions file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-fed-'));
    try {
      let b = await startBroker({ port: 0, dataDir, clusterName: 'boot-cluster' });
      const c = await amqp.connect(b.url);
      const ch = await c.createChannel();
      await ch.assertExchange('boot', 'fanout', { durable: true });
      await ch.assertQueue('boot-q', { durable: true });
      await ch.bindQueue('boot-q', 'boot', '');
      await c.close();
      federate(b.broker, 'boot-up', { uri: `${up.url}/%2f` }, '^boot$');
      b.broker.saveDefinitions();
      await linksRunning(b.broker, 1);
      await b.close();
      // Kept upstream across the restart: the queue keeps what is published meanwhile.
      expect(up.broker.vhosts.get('/')!.queues.has('federation: boot -> boot-cluster')).toBe(true);
      const uch = await channel(up);
      uch.publish('boot', '', Buffer.from('while down'), { persistent: true });
      b = await startBroker({ port: 0, dataDir, clusterName: 'boot-cluster' });
      await linksRunning(b.broker, 1);
      expect(b.broker.federation.status('n').map((s) => s['upstream'])).toEqual(['boot-up']);
      const bch = await channel(b);
      expect(((await getWithin(bch, 'boot-q')) || { content: '' }).content.toString()).toBe('while down');
      const defs = join(dataDir, 'load.json');
      writeFileSync(
        defs,
        JSON.stringify({
          vhosts: [{ name: '/' }],
          exchanges: [{ name: 'loaded', vhost: '/', type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} }],
          parameters: [{ vhost: '/', component: 'federation-upstream', name: 'file-up', value: { uri: `${up.url}/%2f` } }],
          policies: [{ vhost: '/', name: 'file', pattern: '^loaded$', 'apply-to': 'exchanges', definition: { 'federation-upstream': 'file-up' }, priority: 0 }],
        }),
      );
      await b.close();
      b = await startBroker({ port: 0, loadDefinitions: defs, clusterName: 'file-cluster' });
      await linksRunning(b.broker, 1);
      expect(b.broker.federation.status('n').map((s) => [s['exchange'], s['upstream']])).toEqual([['loaded', 'file-up']]);
      expect(up.broker.vhosts.get('/')!.queues.has('federation: loaded -> file-cluster')).toBe(true);
      await b.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
