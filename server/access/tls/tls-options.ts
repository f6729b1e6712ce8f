/**
 * RabbitMQ's ssl_options, turned into Node's tls.Server options. The meaning follows
 * Erlang's ssl application, which RabbitMQ hands them to:
 * - verify_none (Erlang's default): no client certificate is asked for;
 * - verify_peer: a client certificate is asked for and, if one is sent, it must chain to
 *   cacertfile; with fail_if_no_peer_cert a client that sends none is refused as well;
 * - versions: the TLS versions allowed (tlsv1.2 and tlsv1.3 when not given).
 */
import { readFileSync } from 'node:fs';
import type { SecureVersion, TlsOptions } from 'node:tls';
import type { SslOptions } from '../../ops/config.js';

const OPTION_KEYS = new Set(['certfile', 'keyfile', 'cacertfile', 'password', 'verify', 'fail_if_no_peer_cert', 'versions', 'ciphers', 'honor_cipher_order']);

/** Erlang's version names, oldest first, and Node's. */
const VERSIONS: [string, SecureVersion][] = [
  ['tlsv1', 'TLSv1'],
  ['tlsv1.1', 'TLSv1.1'],
  ['tlsv1.2', 'TLSv1.2'],
  ['tlsv1.3', 'TLSv1.3'],
];

export interface TlsServerSettings {
  options: TlsOptions;
  /** Whether a client certificate that does not verify must be refused after the handshake. */
  verifyPeer: boolean;
  /** Things that were configured but cannot be honoured exactly; logged once at start. */
  warnings: string[];
}

/** Checks ssl_options' names and values; throws with RabbitMQ's key names on a mistake. */
export function validateSslOptions(o: SslOptions): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error('ssl_options must be an object');
  for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k)) throw new Error(`ssl_options: unknown setting '${k}'`);
  for (const k of ['certfile', 'keyfile', 'cacertfile', 'password'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw new Error(`ssl_options.${k} must be a string`);
  }
  if (o.verify !== undefined && o.verify !== 'verify_peer' && o.verify !== 'verify_none') {
    throw new Error(`ssl_options.verify must be verify_peer or verify_none; got ${JSON.stringify(o.verify)}`);
  }
  for (const k of ['fail_if_no_peer_cert', 'honor_cipher_order'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new Error(`ssl_options.${k} must be true or false`);
  }
  for (const k of ['versions', 'ciphers'] as const) {
    const v = o[k];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) throw new Error(`ssl_options.${k} must be a list of names`);
  }
  for (const v of o.versions ?? []) {
    if (!VERSIONS.some(([name]) => name === v)) throw new Error(`ssl_options.versions: unknown TLS version '${v}' (tlsv1.3, tlsv1.2, tlsv1.1 or tlsv1)`);
  }
}

/** Reads the certificate files and builds the tls.Server options; throws when a file cannot be read. */
export function tlsServerSettings(o: SslOptions, handshakeTimeout: number): TlsServerSettings {
  validateSslOptions(o);
  if (o.certfile === undefined || o.keyfile === undefined) {
    throw new Error('an amqps listener needs ssl_options.certfile and ssl_options.keyfile');
  }
  const warnings: string[] = [];
  const verifyPeer = o.verify === 'verify_peer';
  const options: TlsOptions = {
    cert: readPem(o.certfile, 'certfile'),
    key: readPem(o.keyfile, 'keyfile'),
    requestCert: verifyPeer,
    // Node's own check refuses a missing certificate as well as a bad one, which is
    // fail_if_no_peer_cert; without it, a certificate that is sent is checked on 'secureConnection'.
    rejectUnauthorized: verifyPeer && o.fail_if_no_peer_cert === true,
    handshakeTimeout,
  };
  if (o.cacertfile !== undefined) options.ca = readPem(o.cacertfile, 'cacertfile');
  if (o.password !== undefined) options.passphrase = o.password;
  if (o.ciphers !== undefined && o.ciphers.length > 0) options.ciphers = o.ciphers.join(':');
  if (o.honor_cipher_order !== undefined) options.honorCipherOrder = o.honor_cipher_order;
  if (o.fail_if_no_peer_cert === true && !verifyPeer) {
    warnings.push('ssl_options.fail_if_no_peer_cert has no effect without ssl_options.verify = verify_peer');
  }
  if (o.versions !== undefined && o.versions.length > 0) {
    const idx = o.versions.map((v) => VERSIONS.findIndex(([name]) => name === v)).sort();
    const lo = idx[0]!;
    const hi = idx[idx.length - 1]!;
    options.minVersion = VERSIONS[lo]![1];
    options.maxVersion = VERSIONS[hi]![1];
    if (new Set(idx).size !== hi - lo + 1) {
      warnings.push(`ssl_options.versions: Node.js takes a range of TLS versions; ${VERSIONS[lo]![0]} to ${VERSIONS[hi]![0]} are allowed`);
    }
  }
  return { options, verifyPeer, warnings };
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ssl_options.${what} ${path}: ${(err as Error).message}`);
  }
}
