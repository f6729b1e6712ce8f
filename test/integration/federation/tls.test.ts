// Federation over amqps, with the URI's TLS parameters: the upstream's certificate checked
// (verify_peer against cacertfile), and a link that logs in with its client certificate
// (auth_mechanism=external).
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../../server/index.js';
import { hasOpenssl, makeCertificates, type TestCertificates } from '../../helpers/certificates.js';
import { federate, getWithin, linksRunning, waitUntil } from '../../helpers/federation.js';

const ALICE_DN = 'CN=alice,O=Warren Tests\\, Ltd,C=GB';

describe.skipIf(!hasOpenssl)('federation over TLS', () => {
  let certs: TestCertificates;
  let up: RunningBroker;
  let down: RunningBroker;
  let tlsPort = 0;

  beforeAll(async () => {
    certs = makeCertificates();
    up = await startBroker({
      port: 0,
      sslListeners: [0],
      authMechanisms: ['PLAIN', 'AMQPLAIN', 'EXTERNAL'],
      users: [
        { name: 'guest', password: 'guest' },
        { name: ALICE_DN, password: '' },
      ],
      sslOptions: { certfile: certs.server.cert, keyfile: certs.server.key, cacertfile: certs.ca, verify: 'verify_peer' },
      clusterName: 'tls-up',
    });
    tlsPort = up.broker.listeners().find((l) => l.protocol === 'amqp/ssl')!.port;
    down = await startBroker({ port: 0, clusterName: 'tls-down' });
  });

  afterAll(async () => {
    await down?.close();
    await up?.close();
    certs?.remove();
  });

  it('checks the upstream certificate with verify_peer, and logs in with a client certificate', async () => {
    const c = await amqp.connect(down.url);
    const ch = await c.createChannel();
    await ch.assertExchange('tx', 'fanout');
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'tx', '');
    const enc = encodeURIComponent;
    const query = `cacertfile=${enc(certs.ca)}&verify=verify_peer&server_name_indication=localhost`;
    // A CA that did not sign the upstream's certificate: the link cannot connect.
    federate(down.broker, 'wrong-ca', { uri: `amqps://guest:guest@127.0.0.1:${tlsPort}/%2f?cacertfile=${enc(certs.mallory.cert)}&verify=verify_peer&server_name_indication=localhost`, 'reconnect-delay': 60 }, '^tx$', { policy: 'tls' });
    await waitUntil(() => down.broker.federation.status('n')[0]?.['status'] === 'error', 'the refused certificate');
    expect(String(down.broker.federation.status('n')[0]!['error'])).toMatch(/certificate/i);
    down.broker.vhosts.get('/')!.clearPolicy('tls');
    // The right CA, and the client certificate as the login (EXTERNAL).
    const cert = `certfile=${enc(certs.alice.cert)}&keyfile=${enc(certs.alice.key)}&auth_mechanism=external`;
    federate(down.broker, 'tls-up', { uri: `amqps://127.0.0.1:${tlsPort}/%2f?${query}&${cert}` }, '^tx$', { policy: 'tls' });
    await linksRunning(down.broker, 1);
    const [s] = down.broker.federation.status('n');
    // The URI shown keeps no credentials and no query.
    expect(s!['uri']).toBe(`amqps://127.0.0.1:${tlsPort}/%2f`);
    expect([...up.broker.connections].filter((x) => x.user === ALICE_DN).length).toBe(1);
    const uc = await amqp.connect(up.url);
    const uch = await uc.createChannel();
    uch.publish('tx', '', Buffer.from('over tls'));
    const m = await getWithin(ch, q);
    expect(m && m.properties.headers?.['x-received-from']).toEqual([{ uri: `amqps://127.0.0.1:${tlsPort}/%2f`, exchange: 'tx', redelivered: false, 'cluster-name': 'tls-up', vhost: '/' }]);
    await uc.close();
    await c.close();
  });
});
