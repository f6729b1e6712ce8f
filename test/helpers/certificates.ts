/**
 * Test certificates made with the openssl command (Debian's `openssl` package): a CA, a
 * server certificate for localhost / 127.0.0.1, client certificates signed by that CA
 * (alice; one with a non-ASCII, escaped and multi-valued subject), and one signed by a CA
 * the broker does not trust (mallory). EC P-256 keys, so that making them takes milliseconds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  ca: string;
  server: KeyPair;
  /** Subject C=GB, O=Warren Tests, Ltd, CN=alice; SANs DNS alice.example and email alice@example.com. */
  alice: KeyPair;
  /** Subject CN=José #1 + UID=42 (one RDN), OU=" lead ", O=a+b;c. */
  odd: KeyPair;
  /** CN=mallory, signed by another CA. */
  mallory: KeyPair;
  read(path: string): Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function selfSigned(dir: string, name: string, subject: string): void {
  openssl(['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '3650', '-subj', subject], dir);
}

function signed(dir: string, name: string, subject: string, ca: string, ext: string | null, extra: string[] = []): KeyPair {
  openssl(['req', ...EC, '-utf8', ...extra, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '3650'];
  if (ext !== null) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    args.push('-extfile', `${name}.ext`);
  }
  openssl(args, dir);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'warren-certs-'));
  selfSigned(dir, 'ca', '/CN=Warren Test CA');
  selfSigned(dir, 'other-ca', '/CN=Other CA');
  const server = signed(dir, 'server', '/CN=localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  const alice = signed(dir, 'alice', '/C=GB/O=Warren Tests, Ltd/CN=alice', 'ca', 'subjectAltName=DNS:alice.example,email:alice@example.com\n');
  const odd = signed(dir, 'odd', '/O=a\\+b;c/OU= lead /CN=José #1+UID=42', 'ca', null, ['-multivalue-rdn']);
  const mallory = signed(dir, 'mallory', '/CN=mallory', 'other-ca', null);
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    server,
    alice,
    odd,
    mallory,
    read: (path) => readFileSync(path),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
