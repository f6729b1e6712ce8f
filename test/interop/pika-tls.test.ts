// pika (python3-pika) against Warren's amqps listener, with pika's SSLOptions: PLAIN over
// TLS, EXTERNAL with a client certificate, and a client without a certificate refused
// under fail_if_no_peer_cert.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startBroker, type BrokerConfig, type RunningBroker } from '../../server/index.js';
import { hasOpenssl, makeCertificates, type TestCertificates } from '../helpers/certificates.js';

// Debian's python3-pika lives in the system interpreter, which may not be the first python3 on PATH.
const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import pika'], { stdio: 'ignore' }).status === 0);
if (python === undefined) console.warn('pika TLS tests skipped: no python3 with pika (apt-get install python3-pika)');
if (!hasOpenssl) console.warn('pika TLS tests skipped: no openssl command (apt-get install openssl)');

const script = fileURLToPath(new URL('./pika_tls.py', import.meta.url));

describe.skipIf(python === undefined || !hasOpenssl)('pika with SSLOptions against the amqps listener', () => {
  let certs: TestCertificates;
  let b: RunningBroker | undefined;
  beforeAll(() => {
    certs = makeCertificates();
  });
  afterAll(() => certs?.remove());
  afterEach(async () => {
    await b?.close();
    b = undefined;
  });

  async function start(config: Partial<BrokerConfig>): Promise<number> {
    b = await startBroker({
      port: 0,
      sslListeners: [0],
      authMechanisms: ['PLAIN', 'AMQPLAIN', 'EXTERNAL'],
      sslCertLoginFrom: 'common_name',
      users: [
        { name: 'guest', password: 'guest' },
        { name: 'alice', password: '' },
      ],
      ...config,
      sslOptions: { certfile: certs.server.cert, keyfile: certs.server.key, cacertfile: certs.ca, ...config.sslOptions },
    });
    return b.broker.listeners().find((l) => l.protocol === 'amqp/ssl')!.port;
  }

  async function pika(args: string[]): Promise<unknown> {
    const child = spawn(python!, [script, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(stdout);
  }

  const roundTrip = { body: 'secret', headers: { via: 'tls' } };

  test('PLAIN over TLS, and EXTERNAL with a client certificate (ssl_cert_login_from = common_name)', async () => {
    const port = await start({ sslOptions: { verify: 'verify_peer' } });
    const out = (await pika([String(port), certs.ca, certs.alice.cert, certs.alice.key])) as Record<string, Record<string, unknown>>;
    expect(out['plain']).toMatchObject(roundTrip);
    expect(out['external']).toMatchObject(roundTrip);
    expect(String(out['plain']!['routing_key'])).toMatch(/^pika-tls-/);
  }, 30000);

  test('fail_if_no_peer_cert: pika without a certificate cannot connect; with one it can', async () => {
    const port = await start({ sslOptions: { verify: 'verify_peer', fail_if_no_peer_cert: true } });
    // Under TLS 1.3 the server refuses the missing certificate after the client's side of the
    // handshake is done, so pika reports the lost connection as it does with RabbitMQ 3.10.8.
    expect(await pika([String(port), certs.ca])).toEqual({ plain: { error: 'IncompatibleProtocolError' } });
    const out = (await pika([String(port), certs.ca, certs.alice.cert, certs.alice.key])) as Record<string, unknown>;
    expect(out['plain']).toMatchObject(roundTrip);
    expect(out['external']).toMatchObject(roundTrip);
  }, 30000);
});
