/**
 * amqps listeners and the EXTERNAL mechanism, as RabbitMQ (with rabbitmq_auth_mechanism_ssl)
 * has them, driven by amqplib over real TLS sockets with certificates made by openssl.
 * The behaviours were checked against a RabbitMQ 3.10.8 with the same certificates:
 * mechanisms offered, the DN format of the login name, what each verify setting refuses.
 */
import amqp, { type ChannelModel } from 'amqplib';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type BrokerConfig, type RunningBroker } from '../../../server/index.js';
import { M, RawClient } from '../../helpers/raw-client.js';
import { hasOpenssl, makeCertificates, type KeyPair, type TestCertificates } from '../../helpers/certificates.js';

if (!hasOpenssl) console.warn('TLS tests skipped: no openssl command (apt-get install openssl)');

const ALICE_DN = 'CN=alice,O=Warren Tests\\, Ltd,C=GB';
const REFUSED_EXTERNAL =
  'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL. For details see the broker logfile."';

let certs: TestCertificates;
let broker: RunningBroker | undefined;
const conns: ChannelModel[] = [];

beforeAll(() => {
  if (hasOpenssl) certs = makeCertificates();
});
afterAll(() => certs?.remove());
afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => {});
  await broker?.close();
  broker = undefined;
});

async function start(config: Partial<BrokerConfig>): Promise<{ tlsPort: number; plainPort: number | undefined }> {
  broker = await startBroker({
    port: 0,
    sslListeners: [0],
    users: [
      { name: 'guest', password: 'guest' },
      { name: ALICE_DN, password: '' },
      { name: 'alice', password: '' },
    ],
    ...config,
    sslOptions: { certfile: certs.server.cert, keyfile: certs.server.key, cacertfile: certs.ca, ...config.sslOptions },
  });
  const ls = broker.broker.listeners();
  return { tlsPort: ls.find((l) => l.protocol === 'amqp/ssl')!.port, plainPort: ls.find((l) => l.protocol === 'amqp')?.port };
}

function clientTls(client?: KeyPair): ConnectionOptions {
  const o: ConnectionOptions = { ca: [certs.read(certs.ca)] };
  if (client !== undefined) {
    o.cert = certs.read(client.cert);
    o.key = certs.read(client.key);
  }
  return o;
}

async function amqps(port: number, opts: ConnectionOptions & { credentials?: ReturnType<typeof amqp.credentials.external> } = {}, user = 'guest:guest@'): Promise<ChannelModel> {
  const c = await amqp.connect(`amqps://${user}127.0.0.1:${port}`, opts);
  c.on('error', () => {});
  conns.push(c);
  return c;
}

/** connection.start's mechanisms, read over a raw (TLS) socket. */
function mechanisms(port: number, tls: ConnectionOptions | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const onConnect = (): void => void s.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    const s = tls === null ? netConnect(port, '127.0.0.1', onConnect) : tlsConnect({ port, host: '127.0.0.1', ...tls }, onConnect);
    let got = Buffer.alloc(0);
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const text = got.toString('latin1');
      const end = text.indexOf('\x00\x00\x00\x05en_US');
      if (end < 0) return;
      // The mechanisms longstr sits just before the locales longstr.
      const start = text.lastIndexOf('\x00\x00\x00', end - 1);
      resolve(text.slice(start + 4, end));
      s.destroy();
    });
  });
}

describe.skipIf(!hasOpenssl)('amqps listener', () => {
  test('amqplib over amqps:// with PLAIN: publish and get round trip; the plain listener works beside it', async () => {
    const { tlsPort, plainPort } = await start({});
    const c = await amqps(tlsPort, clientTls());
    const ch = await c.createChannel();
    await ch.assertQueue('tq', { exclusive: true });
    ch.sendToQueue('tq', Buffer.from('over tls'), { headers: { a: 1 } });
    await new Promise((r) => setTimeout(r, 50));
    const m = await ch.get('tq', { noAck: true });
    expect(m && { body: m.content.toString(), headers: m.properties.headers }).toEqual({ body: 'over tls', headers: { a: 1 } });
    expect(broker!.broker.listeners().map((l) => l.protocol)).toEqual(['amqp', 'amqp/ssl']);
    const plain = await amqp.connect(`amqp://guest:guest@127.0.0.1:${plainPort}`);
    await plain.close();
  });

  test('mechanisms: EXTERNAL is offered on TLS connections only, when auth_mechanisms has it, in RabbitMQ\'s order', async () => {
    const { tlsPort, plainPort } = await start({ authMechanisms: ['PLAIN', 'AMQPLAIN', 'EXTERNAL'] });
    expect(await mechanisms(tlsPort, clientTls())).toBe('AMQPLAIN EXTERNAL PLAIN');
    expect(await mechanisms(tlsPort, clientTls(certs.alice))).toBe('AMQPLAIN EXTERNAL PLAIN');
    expect(await mechanisms(plainPort!, null)).toBe('AMQPLAIN PLAIN');
    await broker!.close();
    const only = await start({ authMechanisms: ['PLAIN'] });
    expect(await mechanisms(only.tlsPort, clientTls())).toBe('PLAIN');
  });

  test('listeners.tcp = none: only the amqps listener runs', async () => {
    const { tlsPort } = await start({ tcpListener: false });
    expect(broker!.broker.listeners()).toEqual([{ protocol: 'amqp/ssl', address: '127.0.0.1', port: tlsPort }]);
    const c = await amqps(tlsPort, clientTls());
    await (await c.createChannel()).assertQueue('', { exclusive: true });
  });

  test('extra plain listeners (listeners.tcp.N) accept connections too', async () => {
    broker = await startBroker({ port: 0, extraTcpListeners: ['127.0.0.1:0'] });
    const ls = broker.broker.listeners();
    expect(ls.map((l) => l.protocol)).toEqual(['amqp', 'amqp']);
    const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${ls[1]!.port}`);
    await c.close();
  });

  test('ssl_options.versions limits the TLS versions', async () => {
    const { tlsPort } = await start({ sslOptions: { versions: ['tlsv1.2'] } });
    const c = await amqps(tlsPort, clientTls());
    const sock = (c.connection as unknown as { stream: { getProtocol(): string } }).stream;
    expect(sock.getProtocol()).toBe('TLSv1.2');
    await expect(amqps(tlsPort, { ...clientTls(), minVersion: 'TLSv1.3' })).rejects.toThrow(/alert protocol version/);
  });

  test('bad TLS settings are refused at start with the setting named', async () => {
    await expect(startBroker({ port: 0, sslListeners: [0] })).rejects.toThrow('an amqps listener needs ssl_options.certfile and ssl_options.keyfile');
    await expect(
      startBroker({ port: 0, sslListeners: [0], sslOptions: { certfile: '/nonexistent.pem', keyfile: certs.server.key } }),
    ).rejects.toThrow(/^cannot read ssl_options.certfile \/nonexistent.pem: ENOENT/);
    await expect(startBroker({ port: 0, sslOptions: { verify: 'verify_all' as 'verify_peer' } })).rejects.toThrow(
      'ssl_options.verify must be verify_peer or verify_none; got "verify_all"',
    );
    await expect(startBroker({ port: 0, sslOptions: { certfiel: 'x' } as object })).rejects.toThrow("ssl_options: unknown setting 'certfiel'");
    await expect(startBroker({ port: 0, sslOptions: { versions: ['sslv3'] } })).rejects.toThrow(/unknown TLS version 'sslv3'/);
    await expect(startBroker({ port: 0, tcpListener: false })).rejects.toThrow(/no AMQP listener/);
    await expect(startBroker({ port: 0, sslListeners: ['127.0.0.1:99999'] })).rejects.toThrow("listeners: '127.0.0.1:99999' is not a port or an address:port");
    await expect(startBroker({ port: 0, sslListeners: 5671 as unknown as number[] })).rejects.toThrow('ssl_listeners must be a list; got 5671');
  });
});

describe.skipIf(!hasOpenssl)('client certificates and EXTERNAL', () => {
  const verifyPeer = { authMechanisms: ['PLAIN', 'AMQPLAIN', 'EXTERNAL'], sslOptions: { verify: 'verify_peer' as const } };

  test('EXTERNAL logs in as the certificate subject DN (RabbitMQ\'s default, ssl_cert_login_from = distinguished_name)', async () => {
    const { tlsPort } = await start(verifyPeer);
    const c = await amqps(tlsPort, { ...clientTls(certs.alice), credentials: amqp.credentials.external() }, '');
    const ch = await c.createChannel();
    await ch.assertQueue('', { exclusive: true });
    expect([...broker!.broker.connections].map((x) => x.user)).toEqual([ALICE_DN]);
  });

  test('a user kept for EXTERNAL (no password) cannot log in with PLAIN and a blank password, as in RabbitMQ', async () => {
    const { tlsPort } = await start(verifyPeer);
    await expect(amqps(tlsPort, clientTls(), 'alice:@')).rejects.toThrow(
      'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."',
    );
  });

  test('ssl_cert_login_from = common_name: the CN is the user', async () => {
    const { tlsPort } = await start({ ...verifyPeer, sslCertLoginFrom: 'common_name' });
    await amqps(tlsPort, { ...clientTls(certs.alice), credentials: amqp.credentials.external() }, '');
    expect([...broker!.broker.connections].map((x) => x.user)).toEqual(['alice']);
  });

  test('ssl_cert_login_from = subject_alternative_name picks the Nth SAN of a type', async () => {
    const { tlsPort } = await start({
      ...verifyPeer,
      sslCertLoginFrom: 'subject_alternative_name',
      sslCertLoginSanType: 'email',
      users: [{ name: 'alice@example.com', password: '' }],
    });
    await amqps(tlsPort, { ...clientTls(certs.alice), credentials: amqp.credentials.external() }, '');
    expect([...broker!.broker.connections].map((x) => x.user)).toEqual(['alice@example.com']);
  });

  test('EXTERNAL is refused (403 to a client that asks for it) for an unknown user, without a certificate, and without verify_peer', async () => {
    const external = { credentials: amqp.credentials.external() };
    let { tlsPort } = await start({ ...verifyPeer, users: [{ name: 'guest', password: 'guest' }] });
    await expect(amqps(tlsPort, { ...clientTls(certs.alice), ...external }, '')).rejects.toThrow(REFUSED_EXTERNAL);
    // verify_peer without fail_if_no_peer_cert lets a client without a certificate in: PLAIN works, EXTERNAL does not.
    await expect(amqps(tlsPort, { ...clientTls(), ...external }, '')).rejects.toThrow(REFUSED_EXTERNAL);
    await amqps(tlsPort, clientTls());
    await broker!.close();
    // verify_none: no certificate is asked for, so there is none to log in with ("TLS configuration is unsafe" otherwise).
    ({ tlsPort } = await start({ authMechanisms: ['PLAIN', 'EXTERNAL'] }));
    await expect(amqps(tlsPort, { ...clientTls(certs.alice), ...external }, '')).rejects.toThrow(REFUSED_EXTERNAL);
  });

  test('EXTERNAL on a plain connection (never offered there): the socket is closed after the handshake delay, nothing sent, as RabbitMQ does', async () => {
    const { plainPort } = await start({ authMechanisms: ['PLAIN', 'EXTERNAL'] });
    const c = await RawClient.connect(plainPort!);
    c.sendHeader();
    expect((await c.expectMethod(M.ConnectionStart)).mechanisms.toString()).toBe('PLAIN');
    c.sendStartOk({ mechanism: 'EXTERNAL', response: Buffer.alloc(0), capabilities: { authentication_failure_close: true } });
    expect((await c.framesWithin(4500)).filter((f) => f.type !== 8)).toEqual([]);
    expect(c.isClosed).toBe(true);
  }, 10000);

  test('fail_if_no_peer_cert: a client without a certificate is refused during the TLS handshake; one with a trusted certificate gets in', async () => {
    const { tlsPort } = await start({ sslOptions: { verify: 'verify_peer', fail_if_no_peer_cert: true } });
    await expect(amqps(tlsPort, clientTls())).rejects.toThrow(/alert certificate required|alert handshake failure/);
    const c = await amqps(tlsPort, clientTls(certs.alice));
    await (await c.createChannel()).assertQueue('', { exclusive: true });
  });

  test.each([false, true])('a certificate from an untrusted CA is refused (fail_if_no_peer_cert %s)', async (fail) => {
    const { tlsPort } = await start({ sslOptions: { verify: 'verify_peer', fail_if_no_peer_cert: fail } });
    await expect(amqps(tlsPort, clientTls(certs.mallory))).rejects.toThrow(/socket hang up|ECONNRESET|Socket closed abruptly|alert/);
    expect(broker!.broker.connections.size).toBe(0);
  });
});
