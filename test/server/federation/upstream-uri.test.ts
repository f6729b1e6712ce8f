// Upstream URIs as RabbitMQ's amqp_uri:parse/2 reads them.
import { describe, expect, it } from 'vitest';
import { parseUpstreamUri, safeUri } from '../../../server/federation/link/upstream-uri.js';

describe('parseUpstreamUri', () => {
  it("reads host, port, vhost (the downstream's when none is named), credentials and parameters", () => {
    expect(parseUpstreamUri('amqp://u:p%40ss@h.example:5673/v%2Fx?heartbeat=5&connection_timeout=1000', 'down')).toMatchObject({
      local: false,
      tls: false,
      host: 'h.example',
      port: 5673,
      vhost: 'v/x',
      username: 'u',
      password: 'p@ss',
      heartbeat: 5,
      connectionTimeout: 1000,
      safe: 'amqp://h.example:5673/v%2Fx',
    });
    expect(parseUpstreamUri('amqp://h', 'down')).toMatchObject({ vhost: 'down', port: 5672, username: null, heartbeat: 10 });
    expect(parseUpstreamUri('amqp://h/', 'down').vhost).toBe('');
    expect(parseUpstreamUri('amqps://[::1]/%2f?cacertfile=/ca.pem&verify=verify_peer&auth_mechanism=external', 'down')).toMatchObject({
      tls: true,
      host: '::1',
      port: 5671,
      vhost: '/',
      mechanisms: ['EXTERNAL'],
      tlsOptions: { cacertfile: '/ca.pem', verify: 'verify_peer' },
    });
  });

  it('takes a URI without a host as this broker', () => {
    expect(parseUpstreamUri('amqp://', 'down')).toMatchObject({ local: true, vhost: 'down', username: null });
    expect(parseUpstreamUri('amqp:///other', 'down')).toMatchObject({ local: true, vhost: 'other' });
    expect(parseUpstreamUri('amqp://alice:pw@/other', 'down')).toMatchObject({ local: true, username: 'alice', password: 'pw' });
  });

  it("refuses what RabbitMQ refuses, in its words", () => {
    const refusal = (u: string) => {
      try {
        parseUpstreamUri(u, '/');
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(refusal('foo')).toBe('"foo" not a valid URI: {{unable_to_parse_uri,no_scheme},"foo"}');
    expect(refusal('http://h')).toBe('"http://h" not a valid URI: {{unexpected_uri_scheme,"http"},"http://h"}');
    expect(refusal('amqp://h:0')).toBe('"amqp://h:0" not a valid URI: {{port_out_of_range,0},"amqp://h:0"}');
    expect(refusal('amqp://:5672')).toBe('"amqp://:5672" not a valid URI: {port_requires_host,"amqp://:5672"}');
    expect(refusal('amqp://h/a/b')).toBe('"amqp://h/a/b" not a valid URI: {{invalid_vhost,"a/b"},"amqp://h/a/b"}');
    expect(refusal('amqp://h/a%zz')).toBe(`"amqp://h/a%zz" not a valid URI: {{invalid_entitiy,['%',122,122]},"amqp://h/a%zz"}`);
  });

  it('shows a URI without its credentials or query', () => {
    expect(safeUri('amqps://u:p@h:1/v?cacertfile=x')).toBe('amqps://h:1/v');
    expect(safeUri('amqp://')).toBe('amqp://');
  });
});
