// The shovel parameter's validation and URI parsing, against the texts RabbitMQ 3.10.8
// answers PUT /api/parameters/shovel/{vhost}/{name} with (observed on the shared RabbitMQ;
// its HTTP layer HTML-escapes `<` and `>`, shown unescaped here).
import { describe, expect, it } from 'vitest';
import { parseAmqpUri, withoutCredentials } from '../../../server/federation/link/uri.js';
import { parseShovel, validateShovel } from '../../../server/federation/shovel/parameters.js';
import { ConfirmWindow } from '../../../server/federation/shovel/confirm-window.js';

const ok = { 'src-uri': 'amqp://', 'src-queue': 'a', 'dest-uri': 'amqp://' };

describe('validateShovel, as RabbitMQ 3.10.8', () => {
  const cases: [string, unknown, string[]][] = [
    ['neither src-queue nor src-exchange, bad ack-mode and reconnect-delay', { 'src-uri': 'amqp://', 'dest-uri': 'amqp://', 'ack-mode': 'x', 'reconnect-delay': 'y' }, [
      "Must specify 'src-exchange' or 'src-queue'",
      'ack-mode should be one of [<<"no-ack">>,<<"on-publish">>,<<"on-confirm">>], actually was <<"x">>',
      'reconnect-delay should be a number, actually was <<"y">>',
    ]],
    ['both sources', { ...ok, 'src-exchange': 'x' }, ["Cannot specify 'src-exchange' and 'src-queue'"]],
    ['a wrong type everywhere, reported in RabbitMQ\'s (reversed) order', { 'src-uri': 5, 'src-queue': 1, 'dest-uri': ['amqp://', 'bad://'], 'dest-queue': true, 'dest-add-forward-headers': 'yes' }, [
      'dest-add-forward-headers should be boolean, actually was <<"yes">>',
      'dest-queue should be binary, actually was true',
      '"bad://" not a valid URI: {{unexpected_uri_scheme,"bad"},"bad://"}',
      'src-queue should be binary, actually was 1',
      'src-uri should be list, actually was 5',
    ]],
    ['publish properties of the wrong type', { ...ok, 'dest-publish-properties': { delivery_mode: '2', content_type: 3 } }, [
      'delivery_mode should be a number, actually was <<"2">>',
      'content_type should be binary, actually was 3',
    ]],
    ['an unknown publish property', { ...ok, 'dest-publish-properties': { foo: 1 } }, ['Unrecognised terms [{<<"foo">>,1}] in dest-publish-properties']],
    ['delete-after and prefetch of the wrong kind', { ...ok, 'src-prefetch-count': '10', 'src-delete-after': 'x' }, [
      'src-delete-after should be a number greater than or equal to 0, "never" or "queue-length", actually was <<"x">>',
      'src-prefetch-count should be a number, actually was <<"10">>',
    ]],
    ['a negative delete-after', { ...ok, 'src-delete-after': -1 }, ['src-delete-after should be a number greater than or equal to 0, "never" or "queue-length", actually was -1']],
    ['no dest-uri', { 'src-uri': 'amqp://', 'src-queue': 'a' }, ['Key "dest-uri" not found in s1']],
    ['no-ack with a numeric delete-after', { ...ok, 'ack-mode': 'no-ack', 'src-delete-after': 5 }, ["Cannot specify 'no-ack' and numerical 'delete-after'"]],
    ['both destinations', { ...ok, 'dest-queue': 'q', 'dest-exchange': 'x' }, ["Cannot specify 'dest-exchange' and 'dest-queue'"]],
    ['an unknown key', { ...ok, 'unknown-key': 'x' }, ['Unrecognised terms [{<<"unknown-key">>,<<"x">>}] in s1']],
    ['an unknown queue argument', { ...ok, 'src-queue-args': { 'x-foo': 1 } }, ['Unrecognised terms [{<<"x-foo">>,1}] in src-queue-args']],
    ['ports', { 'src-uri': 'amqp://h:99999', 'src-queue': 'a', 'dest-uri': 'amqp://:5672' }, [
      '"amqp://:5672" not a valid URI: {port_requires_host,"amqp://:5672"}',
      '"amqp://h:99999" not a valid URI: {{port_out_of_range,99999},"amqp://h:99999"}',
    ]],
    ['a vhost with a slash', { 'src-uri': 'amqp://h/a/b', 'src-queue': 'a', 'dest-uri': 'amqp://' }, ['"amqp://h/a/b" not a valid URI: {{invalid_vhost,"a/b"},"amqp://h/a/b"}']],
  ];
  for (const [what, value, errors] of cases) {
    it(what, () => {
      expect(validateShovel('s1', value, null)).toEqual(errors);
    });
  }

  it('accepts every key RabbitMQ documents, and the pre-3.7 names', () => {
    expect(
      validateShovel('s1', {
        'src-uri': ['amqp://u:p@h1:5673/v?heartbeat=5', 'amqps://h2?cacertfile=/ca.pem&certfile=/c.pem&keyfile=/k.pem&verify=verify_peer'],
        'src-exchange': 'x',
        'src-exchange-key': 'k',
        'src-prefetch-count': 10,
        'src-delete-after': 'queue-length',
        'dest-uri': 'amqp://',
        'dest-exchange': 'y',
        'dest-exchange-key': 'k2',
        'ack-mode': 'on-publish',
        'dest-add-forward-headers': true,
        'dest-add-timestamp-header': true,
        'dest-publish-properties': { delivery_mode: 2, app_id: 'shovel' },
        'reconnect-delay': 1,
        'src-protocol': 'amqp091',
        'dest-protocol': 'amqp091',
        'add-forward-headers': false,
        'prefetch-count': 5,
        'delete-after': 'never',
      }, null),
    ).toEqual([]);
  });

  it('checks that the acting user may use a local URI\'s vhost', () => {
    const user = { name: 'alice', mayConnect: (v: string) => v === '/' };
    expect(validateShovel('s1', { 'src-uri': 'amqp:///nope', 'src-queue': 'a', 'dest-uri': 'amqp://' }, user)).toEqual(['user "alice" may not connect to vhost "nope"']);
    expect(validateShovel('s1', { 'src-uri': 'amqp://other-host/nope', 'src-queue': 'a', 'dest-uri': 'amqp://' }, user)).toEqual([]);
  });
});

describe('parseShovel', () => {
  it('fills in RabbitMQ\'s defaults', () => {
    const d = parseShovel('/', 's', ok);
    expect(d).toMatchObject({ srcUris: ['amqp://'], srcQueue: 'a', srcExchange: null, prefetchCount: 1000, deleteAfter: 'never', ackMode: 'on-confirm', reconnectDelay: 5, addForwardHeaders: false, addTimestampHeader: false, destQueue: null, destExchange: null, destExchangeKey: null });
  });

  it('reads the pre-3.7 names and publish properties by amqplib name', () => {
    const d = parseShovel('/', 's', { ...ok, 'prefetch-count': 7, 'delete-after': 3, 'add-forward-headers': true, 'publish-properties': { delivery_mode: 2, cluster_id: 'c' } });
    expect(d).toMatchObject({ prefetchCount: 7, deleteAfter: 3, addForwardHeaders: true, publishProperties: { deliveryMode: 2, clusterId: 'c' } });
  });
});

describe('parseAmqpUri (amqp_uri)', () => {
  it('a URI without a host is the local broker, vhost / unless a path names one', () => {
    expect(parseAmqpUri('amqp://')).toMatchObject({ local: true, vhost: '/', username: null });
    expect(parseAmqpUri('amqp:///v%2f1')).toMatchObject({ local: true, vhost: 'v/1' });
  });

  it('reads credentials, host, port, vhost and the query parameters', () => {
    const e = parseAmqpUri('amqps://us%40r:p%3Ass@broker.example:5999/prod?heartbeat=7&connection_timeout=1500&channel_max=9&frame_max=8192&cacertfile=/ca.pem&certfile=/c.pem&keyfile=/k.pem&verify=verify_peer&server_name_indication=mq.example&auth_mechanism=external');
    expect(e).toMatchObject({
      local: false,
      tls: true,
      host: 'broker.example',
      port: 5999,
      vhost: 'prod',
      username: 'us@r',
      password: 'p:ss',
      heartbeat: 7,
      connectionTimeout: 1500,
      channelMax: 9,
      frameMax: 8192,
      authMechanisms: ['EXTERNAL'],
      tlsParams: { cacertfile: '/ca.pem', certfile: '/c.pem', keyfile: '/k.pem', verify: 'verify_peer', serverNameIndication: 'mq.example' },
      display: 'amqps://broker.example:5999/prod',
    });
  });

  it('uses amqp_client\'s defaults: port 5672 (5671 for amqps), heartbeat 10 s, connection_timeout 60 s', () => {
    expect(parseAmqpUri('amqp://h')).toMatchObject({ port: 5672, heartbeat: 10, connectionTimeout: 60000, vhost: '/' });
    expect(parseAmqpUri('amqps://h')).toMatchObject({ port: 5671, tls: true });
    expect(parseAmqpUri('amqp://[::1]:5673')).toMatchObject({ host: '::1', port: 5673 });
  });

  it('refuses what amqp_uri refuses, in its words', () => {
    expect(() => parseAmqpUri('amqp://h?heartbeat=x')).toThrow('"amqp://h?heartbeat=x" not a valid URI: {{invalid_amqp_params_parameter,heartbeat,"x",{not_an_integer,"x"}},"amqp://h?heartbeat=x"}');
    expect(() => parseAmqpUri('http://h')).toThrow('{{unexpected_uri_scheme,"http"},"http://h"}');
    expect(() => parseAmqpUri('amqps://h?verify=maybe')).toThrow('invalid_ssl_parameter');
  });

  it('shows URIs without credentials, as shovel status and x-shovelled do', () => {
    expect(withoutCredentials('amqp://guest:secret@127.0.0.1:25672/%2f?heartbeat=5')).toBe('amqp://127.0.0.1:25672/%2f');
    expect(withoutCredentials('amqp://')).toBe('amqp://');
  });
});

describe('ConfirmWindow', () => {
  function run(ops: (w: ConfirmWindow) => void): string[] {
    const out: string[] = [];
    const w = new ConfirmWindow();
    const sink = { ackSource: (t: number) => out.push(`ack ${t}`), nackSource: (t: number) => out.push(`nack ${t}`) };
    ops(w);
    w.drain(sink);
    return out;
  }

  it('acks the confirmed prefix with one multiple ack', () => {
    expect(run((w) => {
      for (let t = 11; t <= 15; t++) w.push(t);
      w.mark(3, true, false);
    })).toEqual(['ack 13']);
  });

  it('waits for a gap: out-of-order confirms ack nothing past an unconfirmed publish', () => {
    expect(run((w) => {
      for (let t = 1; t <= 4; t++) w.push(t);
      w.mark(2, false, false);
      w.mark(4, false, false);
    })).toEqual([]);
    expect(run((w) => {
      for (let t = 1; t <= 4; t++) w.push(t);
      w.mark(2, false, false);
      w.mark(4, false, false);
      w.mark(1, false, false);
    })).toEqual(['ack 2']);
  });

  it('nacks one by one, between runs of acks', () => {
    expect(run((w) => {
      for (let t = 1; t <= 5; t++) w.push(t * 10);
      w.mark(2, true, false);
      w.mark(3, false, true);
      w.mark(5, true, false);
    })).toEqual(['ack 20', 'nack 30', 'ack 50']);
  });

  it('grows past its first capacity', () => {
    const w = new ConfirmWindow();
    for (let t = 1; t <= 5000; t++) w.push(t);
    expect(w.size).toBe(5000);
    w.mark(4999, true, false);
    const acks: number[] = [];
    expect(w.drain({ ackSource: (t) => acks.push(t), nackSource: () => {} })).toBe(4999);
    expect(acks).toEqual([4999]);
    expect(w.size).toBe(1);
  });
});
