// The login names rabbitmq_auth_mechanism_ssl takes from a client certificate. The expected
// DNs were read from RabbitMQ 3.10.8's log ("EXTERNAL login refused: user '...'") for
// certificates made the same way.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { certificateLoginName, commonNames, subjectAltNames, subjectDn } from '../../../server/access/tls/certificate.js';
import { hasOpenssl, makeCertificates, type TestCertificates } from '../../helpers/certificates.js';

let certs: TestCertificates;
beforeAll(() => {
  if (hasOpenssl) certs = makeCertificates();
});
afterAll(() => certs?.remove());

const der = (path: string): Buffer => new X509Certificate(certs.read(path)).raw;
const login = (from: string, type = 'dns', index = 0) => ({ sslCertLoginFrom: from, sslCertLoginSanType: type, sslCertLoginSanIndex: index });

describe.skipIf(!hasOpenssl)('client certificate login names', () => {
  test('the subject DN, last RDN first, with RFC 4514 escapes (as RabbitMQ 3.10.8 logs it)', () => {
    expect(subjectDn(der(certs.alice.cert))).toBe('CN=alice,O=Warren Tests\\, Ltd,C=GB');
    // Non-ASCII as \XX of its UTF-8 bytes, a multi-valued RDN joined with +, leading and
    // trailing spaces and + ; escaped.
    expect(subjectDn(der(certs.odd.cert))).toBe('CN=Jos\\C3\\A9 #1+UID=42,OU=\\ lead\\ ,O=a\\+b\\;c');
    expect(subjectDn(der(certs.server.cert))).toBe('CN=localhost');
  });

  test('common_name: the CN as text, unescaped', () => {
    expect(commonNames(der(certs.odd.cert))).toEqual(['José #1']);
    expect(certificateLoginName(der(certs.alice.cert), login('common_name'))).toBe('alice');
  });

  test('subject_alternative_name: the Nth SAN of the type, or none', () => {
    expect(subjectAltNames(der(certs.alice.cert), 'dns')).toEqual(['alice.example']);
    expect(subjectAltNames(der(certs.server.cert), 'ip')).toEqual(['127.0.0.1']);
    expect(certificateLoginName(der(certs.alice.cert), login('subject_alternative_name', 'email'))).toBe('alice@example.com');
    expect(certificateLoginName(der(certs.alice.cert), login('subject_alt_name', 'dns', 1))).toBe(null);
    expect(certificateLoginName(der(certs.odd.cert), login('subject_alternative_name'))).toBe(null);
  });

  test('distinguished_name is the default', () => {
    expect(certificateLoginName(der(certs.alice.cert), login('distinguished_name'))).toBe('CN=alice,O=Warren Tests\\, Ltd,C=GB');
  });

  test('garbage is an error, not a crash', () => {
    expect(() => subjectDn(Buffer.from([0x30, 0x82, 0xff]))).toThrow(/DER/);
    expect(() => subjectDn(Buffer.from([0x30, 0x00]))).toThrow('not a certificate');
  });
});
