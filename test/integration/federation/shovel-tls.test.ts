// Shovels over amqps with RabbitMQ's URI parameters: cacertfile and verify=verify_peer (a
// server certificate that does not chain to the CA is refused), certfile and keyfile with
// auth_mechanism=external (the shovel logs in as its certificate's user), and the default,
// which like RabbitMQ's does not verify the server.
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasOpenssl, makeCertificates, type TestCertificates } from '../../helpers/certificates.js';
import { depth, eventually } from '../../helpers/shovel.js';
import { startBroker, type RunningBroker } from '../../../server/index.js';

if (!hasOpenssl) console.warn('shovel-tls: the openssl command is missing; skipped (CI installs it).');

describe.skipIf(!hasOpenssl)('shovels over amqps', () => {
  let certs: TestCertificates;
  let b: RunningBroker;
  let tlsPort: number;

  beforeAll(async () => {
    certs = makeCertificates();
    b = await startBroker({
      port: 0,
      sslListeners: [0],
      authMechanisms: ['PLAIN', 'AMQPLAIN', 'EXTERNAL'],
      sslCertLoginFrom: 'common_name',
      users: [
        { name: 'guest', password: 'guest' },
        { name: 'alice', password: '' },
      ],
      sslOptions: { certfile: certs.server.cert, keyfile: certs.server.key, cacertfile: certs.ca, verify: 'verify_peer' },
    });
    tlsPort = b.broker.listeners().find((l) => l.protocol === 'amqp/ssl')!.port;
  });

  afterAll(async () => {
    await b?.close();
    certs?.remove();
  });

  async function moves(name: string, srcUri: string): Promise<void> {
    b.broker.access.setParameter('/', 'shovel', name, { 'src-uri': srcUri, 'src-queue': `${name}-src`, 'dest-uri': 'amqp://', 'dest-queue': `${name}-dst`, 'reconnect-delay': 1 });
    await eventually(`${name} running`, () => b.broker.shovels.get('/', name)?.state === 'running');
    const c = await amqp.connect(b.url);
    const ch = await c.createConfirmChannel();
    ch.sendToQueue(`${name}-src`, Buffer.from('over tls'));
    await ch.waitForConfirms();
    await eventually(`${name} moved a message`, async () => (await depth(c, `${name}-dst`)) === 1);
    await c.close();
  }

  const linkUsers = (name: string): string[] =>
    [...b.broker.connections].filter((c) => c.clientProperties['connection_name'] === `Shovel ${name}` && c.remote !== '127.0.0.1:0').map((c) => c.user);

  it('verify_peer with the CA that signed the server: moves messages', async () => {
    await moves('tls-verified', `amqps://guest:guest@localhost:${tlsPort}?cacertfile=${encodeURIComponent(certs.ca)}&verify=verify_peer&heartbeat=5`);
    expect(linkUsers('tls-verified')).toEqual(['guest']);
    expect(b.broker.shovels.status().find((s) => s.name === 'tls-verified')!.src_uri).toBe(`amqps://localhost:${tlsPort}`);
  });

  it('EXTERNAL with certfile and keyfile: the shovel is its certificate\'s user', async () => {
    const q = `cacertfile=${encodeURIComponent(certs.ca)}&certfile=${encodeURIComponent(certs.alice.cert)}&keyfile=${encodeURIComponent(certs.alice.key)}&verify=verify_peer&auth_mechanism=external`;
    await moves('tls-external', `amqps://localhost:${tlsPort}?${q}`);
    expect(linkUsers('tls-external')).toEqual(['alice']);
  });

  it('without verify: connects without checking the server, as RabbitMQ\'s shovel does', async () => {
    await moves('tls-unverified', `amqps://guest:guest@127.0.0.1:${tlsPort}`);
  });

  it('verify_peer with a CA that did not sign the server: refused, and said why', async () => {
    const other = join(certs.dir, 'other-ca.pem');
    b.broker.access.setParameter('/', 'shovel', 'tls-wrong-ca', { 'src-uri': `amqps://guest:guest@localhost:${tlsPort}?cacertfile=${encodeURIComponent(other)}&verify=verify_peer`, 'src-queue': 'x', 'dest-uri': 'amqp://', 'reconnect-delay': 1 });
    await eventually('a last error', () => b.broker.shovels.status().find((s) => s.name === 'tls-wrong-ca')?.last_error !== undefined);
    const st = b.broker.shovels.status().find((s) => s.name === 'tls-wrong-ca')!;
    expect(st.state).toBe('starting');
    expect(st.last_error).toMatch(/certificate/i);
    b.broker.access.clearParameter('/', 'shovel', 'tls-wrong-ca');
  });
});
