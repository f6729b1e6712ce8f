// warren/routing's Topology, through the public entry points: building, loading RabbitMQ's
// definitions, routing with its reasons, and refusing what the broker refuses.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelError, ConnectionError, DefinitionsError, Topology, Typed, type RouteVisit } from '../../routing/index.js';
import { expectRoutes, expectUnroutable, scenario } from '../../testing/index.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function shop(): Topology {
  return new Topology()
    .exchange('orders', 'topic', { alternateExchange: 'unrouted' })
    .exchange('unrouted', 'fanout')
    .exchange('audit', 'headers', { internal: true })
    .queue('eu')
    .queue('created')
    .queue('lost')
    .queue('audit.eu')
    .bind('orders', 'eu', 'eu.*')
    .bind('orders', 'created', '#.created')
    .bind('orders', 'audit', 'eu.#')
    .bind('audit', 'audit.eu', '', { 'x-match': 'any', region: 'eu' })
    .bind('unrouted', 'lost');
}

function errorOf(f: () => unknown): { code: number; text: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof ChannelError || err instanceof ConnectionError) return { code: err.replyCode, text: err.replyText };
    throw err;
  }
  throw new Error('no error');
}

describe('Topology.route', () => {
  it('routes through every exchange type, exchange-to-exchange bindings and the alternate exchange', () => {
    const t = shop();
    expectRoutes(t, { exchange: 'orders', routingKey: 'eu.created', headers: { region: 'eu' } }, ['eu', 'created', 'audit.eu']);
    expectRoutes(t, { exchange: 'orders', routingKey: 'eu.created' }, ['eu', 'created']);
    expectRoutes(t, { exchange: 'orders', routingKey: 'us.shipped' }, ['lost']);
    expectRoutes(t, { exchange: '', routingKey: 'eu' }, ['eu']);
    expectUnroutable(t, { exchange: '', routingKey: 'nope' });
    expectRoutes(t, { exchange: 'amq.fanout' }, []);
    // Queues come back sorted, each once, however many bindings lead to them.
    t.bind('orders', 'eu', '#');
    expect(t.route({ exchange: 'orders', routingKey: 'eu.created' }).queues).toEqual(['created', 'eu']);
  });

  it('explains the path: bindings that matched, hops, the alternate exchange', () => {
    const t = shop();
    const r = t.route({ exchange: 'orders', routingKey: 'eu.created', headers: { region: 'eu' } });
    const path: readonly RouteVisit[] = r.path;
    expect(path).toEqual([
      {
        exchange: 'orders',
        type: 'topic',
        reached: 'published',
        from: -1,
        matched: [
          { destination: 'eu', destinationType: 'queue', bindingKey: 'eu.*', arguments: {}, routingKey: 'eu.created' },
          { destination: 'created', destinationType: 'queue', bindingKey: '#.created', arguments: {}, routingKey: 'eu.created' },
          { destination: 'audit', destinationType: 'exchange', bindingKey: 'eu.#', arguments: {}, routingKey: 'eu.created', followed: true },
        ],
      },
      {
        exchange: 'audit',
        type: 'headers',
        reached: 'binding',
        from: 0,
        matched: [{ destination: 'audit.eu', destinationType: 'queue', bindingKey: '', arguments: { 'x-match': 'any', region: 'eu' }, routingKey: 'eu.created' }],
      },
    ]);
    const lost = t.route({ exchange: 'orders', routingKey: 'us.shipped' });
    expect(lost.path[0]!.alternate).toEqual({ exchange: 'unrouted', exists: true, followed: true });
    expect(lost.path[1]).toMatchObject({ exchange: 'unrouted', reached: 'alternate-exchange', from: 0 });
    expect(lost.describe()).toEqual([
      "published to exchange 'orders' (topic)",
      "  no binding matched -> alternate exchange 'unrouted'",
      "alternate of 'orders': exchange 'unrouted' (fanout)",
      "  fanout -> queue 'lost'",
    ]);
    expect(t.route({ exchange: '', routingKey: 'eu' }).describe()).toEqual(['published to the default exchange', "  key 'eu' -> queue 'eu'"]);
  });

  it('names the CC or BCC key that matched, and routes BCC like CC', () => {
    const t = shop();
    const r = expectRoutes(t, { exchange: 'orders', routingKey: 'us.x', headers: { CC: ['eu.x'], BCC: ['a.created'] } }, ['eu', 'created']);
    expect(r.path[0]!.matched.map((m) => [m.destination, m.routingKey])).toEqual([
      ['eu', 'eu.x'],
      ['created', 'a.created'],
      ['audit', 'eu.x'],
    ]);
  });

  it('follows cycles once and says so', () => {
    const t = new Topology().exchange('a', 'fanout').exchange('b', 'fanout').queue('q').bind('a', 'b').bind('b', 'a').bind('b', 'q');
    const r = expectRoutes(t, { exchange: 'a' }, ['q']);
    expect(r.path.map((v) => v.exchange)).toEqual(['a', 'b']);
    expect(r.path[1]!.matched.find((m) => m.destination === 'a')?.followed).toBe(false);
    expect(r.describe()).toContain("  fanout -> exchange 'a' (already visited: not routed through again)");
  });

  it('takes the alternate exchange from a policy, but an exchange argument wins', () => {
    const t = new Topology().exchange('x', 'direct').exchange('ae1', 'fanout').exchange('ae2', 'fanout').queue('q1').queue('q2').bind('ae1', 'q1').bind('ae2', 'q2');
    expectUnroutable(t, { exchange: 'x', routingKey: 'k' });
    t.policy({ name: 'p', pattern: '^x$', applyTo: 'exchanges', definition: { 'alternate-exchange': 'ae1' } });
    expectRoutes(t, { exchange: 'x', routingKey: 'k' }, ['q1']);
    t.policy({ name: 'q', pattern: '.*', applyTo: 'exchanges', priority: 5, definition: { 'alternate-exchange': 'ae2' } });
    expectRoutes(t, { exchange: 'x', routingKey: 'k' }, ['q2']);
    t.exchange('y', 'direct', { alternateExchange: 'ae1' });
    expectRoutes(t, { exchange: 'y', routingKey: 'k' }, ['q1']);
    // A missing alternate exchange drops the message, as in RabbitMQ.
    t.exchange('z', 'direct', { alternateExchange: 'nowhere' });
    const r = expectUnroutable(t, { exchange: 'z', routingKey: 'k' });
    expect(r.path[0]!.alternate).toEqual({ exchange: 'nowhere', exists: false, followed: false });
  });

  it('matches headers of every wire type as RabbitMQ compares them', () => {
    const t = new Topology().exchange('h', 'headers').queue('q').bind('h', 'q', '', { n: 1, s: 'x' });
    for (const n of [1, new Typed('b', 1), new Typed('l', 1n), new Typed('d', 1), new Typed('T', 1)]) {
      expectRoutes(t, { exchange: 'h', headers: { n, s: Buffer.from('x') } }, ['q']);
    }
    expectUnroutable(t, { exchange: 'h', headers: { n: '1', s: 'x' } });
  });

  it('refuses what the broker refuses, with its codes and texts', () => {
    const t = shop();
    expect(errorOf(() => t.route({ exchange: 'missing' }))).toEqual({ code: 404, text: "NOT_FOUND - no exchange 'missing' in vhost '/'" });
    expect(errorOf(() => t.route({ exchange: 'audit' }))).toEqual({ code: 403, text: "ACCESS_REFUSED - cannot publish to internal exchange 'audit' in vhost '/'" });
    expect(errorOf(() => t.route({ exchange: 'orders', headers: { CC: 'eu.x' } }))).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}',
    });
    expect(errorOf(() => t.route({ vhost: 'other', exchange: '' }))).toEqual({ code: 530, text: 'NOT_ALLOWED - vhost other not found' });
    expect(errorOf(() => t.bind('orders', 'nope'))).toEqual({ code: 404, text: "NOT_FOUND - no queue 'nope' in vhost '/'" });
    expect(errorOf(() => t.bind('', 'eu'))).toEqual({ code: 403, text: 'ACCESS_REFUSED - operation not permitted on the default exchange' });
    expect(errorOf(() => t.exchange('amq.mine', 'direct'))).toEqual({ code: 403, text: "ACCESS_REFUSED - exchange name 'amq.mine' contains reserved prefix 'amq.*'" });
    expect(errorOf(() => t.exchange('orders', 'direct'))).toEqual({
      code: 406,
      text: "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'orders' in vhost '/': received 'direct' but current is 'topic'",
    });
    expect(errorOf(() => t.exchange('odd', 'x-consistent-hash'))).toEqual({ code: 503, text: "COMMAND_INVALID - unknown exchange type 'x-consistent-hash'" });
    expect(errorOf(() => t.bind('audit', 'eu', '', { 'x-match': 'some' }))).toEqual({
      code: 406,
      text: 'PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x',
    });
    t.queue('orders');
    expect(() => t.bind('amq.direct', 'orders')).toThrow(/both a queue and an exchange/);
    t.bind('amq.direct', 'orders', 'k', {}, { destinationType: 'queue' });
    expectRoutes(t, { exchange: 'amq.direct', routingKey: 'k' }, ['orders']);
  });

  it('computes a path against the topology it routed on, or says it changed', () => {
    const t = shop();
    const r = t.route({ exchange: 'orders', routingKey: 'eu.x' });
    t.unbind('orders', 'eu', 'eu.*');
    expect(() => r.path).toThrow(/topology changed/);
    expect(t.route({ exchange: 'orders', routingKey: 'eu.x' }).queues).toEqual([]);
  });
});

describe('Topology.fromDefinitions', () => {
  it("reads RabbitMQ 3.10's per-vhost export (GET /api/definitions/{vhost})", () => {
    const text = fixture('rabbitmq-3.10-vhost-export.json');
    for (const t of [Topology.fromDefinitions(text), Topology.fromDefinitions(JSON.parse(text) as object)]) {
      expectRoutes(t, { exchange: 'orders', routingKey: 'eu.created', headers: { region: 'eu' } }, ['all', 'audit', 'eu']);
      // '#' takes it to `events`, where nothing matches; orders' own result was not empty, so no alternate.
      expectUnroutable(t, { exchange: 'orders', routingKey: 'eu' });
      expect(t.vhosts()).toEqual(['/']);
    }
    const v = Topology.fromDefinitions(text, { vhost: 'shop' });
    expect(v.vhosts()).toEqual(['shop']);
    expectRoutes(v, { vhost: 'shop', exchange: 'orders', routingKey: 'us.created' }, ['all']);
    // The export's policy (written with the exported vhost's name) comes along.
    expect(v.toDefinitions().policies.map((p) => [p.vhost, p.name])).toEqual([['shop', 'ttl']]);
  });

  it('reads a full export with several vhosts and ignores users, permissions and parameters', () => {
    const defs = {
      rabbit_version: '3.10.8',
      users: [{ name: 'app', password_hash: 'x', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [] }],
      vhosts: [{ name: '/' }, { name: 'b' }],
      permissions: [{ user: 'app', vhost: '/', configure: '.*', write: '.*', read: '.*' }],
      parameters: [],
      global_parameters: [{ name: 'internal_cluster_id', value: 'rabbitmq-cluster-id-x' }],
      policies: [{ vhost: 'b', name: 'ae', pattern: '^x$', 'apply-to': 'exchanges', definition: { 'alternate-exchange': 'amq.fanout' }, priority: 0 }],
      queues: [
        { name: 'q', vhost: '/', durable: true, auto_delete: false, arguments: {} },
        { name: 'q', vhost: 'b', durable: true, auto_delete: false, arguments: {} },
      ],
      exchanges: [
        { name: 'x', vhost: '/', type: 'direct', durable: true, auto_delete: false, internal: false, arguments: {} },
        { name: 'x', vhost: 'b', type: 'direct', durable: true, auto_delete: false, internal: false, arguments: {} },
      ],
      bindings: [
        { source: 'x', vhost: '/', destination: 'q', destination_type: 'queue', routing_key: 'k', arguments: {} },
        { source: 'amq.fanout', vhost: 'b', destination: 'q', destination_type: 'queue', routing_key: '', arguments: {} },
      ],
    };
    const t = Topology.fromDefinitions(defs);
    expect(t.vhosts().sort()).toEqual(['/', 'b']);
    expectRoutes(t, { exchange: 'x', routingKey: 'k' }, ['q']);
    expectUnroutable(t, { exchange: 'x', routingKey: 'other' });
    expectRoutes(t, { vhost: 'b', exchange: 'x', routingKey: 'other' }, ['q']);
  });

  it('says which entry is wrong', () => {
    expect(() => Topology.fromDefinitions('{')).toThrow(DefinitionsError);
    expect(() => Topology.fromDefinitions({ exchanges: {} })).toThrow('definitions: exchanges must be an array');
    expect(() => Topology.fromDefinitions({ queues: [{ name: 1 }] })).toThrow('queues[0]: name must be a string');
    expect(() => Topology.fromDefinitions({ bindings: [{ source: 'x', destination: 'q', destination_type: 'topic' }] })).toThrow(
      'bindings[0]: destination_type must be "queue" or "exchange"',
    );
    expect(() => Topology.fromDefinitions({ bindings: [{ source: 'amq.direct', destination: 'q', destination_type: 'queue', routing_key: 'k' }] })).toThrow(
      "binding of queue 'q' to exchange 'amq.direct' in vhost '/': NOT_FOUND - no queue 'q' in vhost '/'",
    );
    expect(() => Topology.fromDefinitions({ exchanges: [{ name: 'x', type: 'x-delayed-message' }] })).toThrow(
      "exchange 'x' in vhost '/': COMMAND_INVALID - unknown exchange type 'x-delayed-message'",
    );
  });

  it('round-trips through toDefinitions, routing every message alike', () => {
    fc.assert(
      fc.property(scenario({ refused: true }), (s) => {
        const again = Topology.fromDefinitions(JSON.stringify(s.topology.toDefinitions()));
        const outcome = (t: Topology, m: (typeof s.messages)[number]) => {
          try {
            return t.route(m).queues;
          } catch (err) {
            return (err as Error).message;
          }
        };
        for (const m of s.messages) expect(outcome(again, m)).toEqual(outcome(s.topology, m));
      }),
      { numRuns: 200 },
    );
  });
});

describe('the explanation agrees with the route', () => {
  it('on generated topologies and messages', () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const t = s.topology;
        for (const m of s.messages) {
          const r = t.route(m);
          const queues = new Set(r.path.flatMap((v) => v.matched.filter((x) => x.destinationType === 'queue').map((x) => x.destination)));
          expect([...queues].sort()).toEqual(r.queues);
          // Every visit but the first was reached from an earlier one.
          r.path.forEach((v, i) => expect(i === 0 ? v.from === -1 : v.from >= 0 && v.from < i).toBe(true));
          expect(r.describe().length).toBeGreaterThanOrEqual(r.path.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
