// Users: RabbitMQ's password hashes (salt ‖ H(salt ‖ password), base64), checked against
// hashes RabbitMQ 3.10.8 itself produced; PLAIN and AMQPLAIN logins through the one
// authenticate path; blank passwords refused as RabbitMQ's internal backend refuses them;
// tags kept; a deleted user's connections closed with RabbitMQ's 320 text.
import amqp from 'amqplib';
import { describe, expect, test } from 'vitest';
import { checkPassword, hashPassword, HASHING_ALGORITHMS, type HashingAlgorithm } from '../../../server/access/password.js';
import { onWarren, useAccessBroker } from '../../helpers/access.js';
import { RawClient, closeInfo, M, amqplainResponse } from '../../helpers/raw-client.js';

// Taken from GET /api/users on RabbitMQ 3.10.8 (users created there with these passwords).
const RABBITMQ_HASHES = [
  { password: 'guest', hash: '0ORWWS7fnEqzOQQ3XZzGyS7vI/M4rxk+LjfrqWP5SoW7GJHr' },
  { password: 'p1', hash: 'D1bIbewK5b7xF3waKbJ5TzLa4L8FIs+PgAhVKNuMWrcysugT' },
];

describe('password hashes', () => {
  test('hashes made by RabbitMQ check with the same password, and only with it', () => {
    for (const { password, hash } of RABBITMQ_HASHES) {
      expect(checkPassword(password, hash, 'rabbit_password_hashing_sha256')).toBe(true);
      expect(checkPassword(password + 'x', hash, 'rabbit_password_hashing_sha256')).toBe(false);
      expect(checkPassword(password, hash, 'rabbit_password_hashing_sha512')).toBe(false);
    }
  });

  test('each algorithm: 4 bytes of salt then the digest, base64; a new salt every time', () => {
    const sizes: Record<HashingAlgorithm, number> = {
      rabbit_password_hashing_sha256: 32,
      rabbit_password_hashing_sha512: 64,
      rabbit_password_hashing_md5: 16,
    };
    for (const alg of Object.keys(HASHING_ALGORITHMS) as HashingAlgorithm[]) {
      const h = hashPassword('s3cret é', alg);
      expect(Buffer.from(h, 'base64').length).toBe(4 + sizes[alg]);
      expect(checkPassword('s3cret é', h, alg)).toBe(true);
      expect(checkPassword('s3cret e', h, alg)).toBe(false);
      expect(hashPassword('s3cret é', alg)).not.toBe(h);
    }
  });

  test('an empty, short or garbled hash, or an unknown algorithm, never checks', () => {
    expect(checkPassword('', '', 'rabbit_password_hashing_sha256')).toBe(false);
    expect(checkPassword('x', 'AAAA', 'rabbit_password_hashing_sha256')).toBe(false);
    expect(checkPassword('guest', RABBITMQ_HASHES[0]!.hash, 'rabbit_password_hashing_sha1')).toBe(false);
  });
});

const t = useAccessBroker((p) => ({
  users: [
    { name: p('hashed'), password: 'unused' },
    { name: p('tagged'), password: 'tagged-pw', tags: ['monitoring', 'policymaker', 'custom'] },
    { name: p('doomed'), password: 'doomed-pw' },
  ],
  permissions: [
    { user: p('hashed'), vhost: '/', configure: '.*', write: '.*', read: '.*' },
    { user: p('tagged'), vhost: '/', configure: '.*', write: '.*', read: '.*' },
    { user: p('doomed'), vhost: '/', configure: '.*', write: '.*', read: '.*' },
  ],
}));

describe('logins', () => {
  test.skipIf(!onWarren)('a user imported with a RabbitMQ hash logs in with its password, by PLAIN and by AMQPLAIN', async () => {
    const name = t.p('hashed');
    const { importDefinitions } = await import('../../../server/access/definitions-import.js');
    importDefinitions(t.broker!.broker, { users: [{ name, password_hash: RABBITMQ_HASHES[1]!.hash, hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [] }] }, { mode: 'runtime' });
    const c = await t.connect(name, 'p1');
    expect(await c.createChannel()).toBeDefined();
    const url = new URL(t.url(name, 'p1'));
    const raw = await RawClient.open(Number(url.port), { mechanism: 'AMQPLAIN', response: amqplainResponse(name, 'p1') }, url.hostname);
    await raw.close();
  });

  test('a blank password is refused, whatever the stored hash', async () => {
    const url = new URL(t.url('guest', 'guest'));
    const c = await RawClient.connect(Number(url.port), url.hostname);
    c.sendHeader();
    await c.expectMethod(M.ConnectionStart);
    c.sendStartOk({ user: t.p('tagged'), password: '', capabilities: { authentication_failure_close: true } });
    expect(closeInfo(await c.nextMethod())).toEqual({
      replyCode: 403,
      replyText: 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
      classId: 0,
      methodId: 0,
    });
    c.destroy();
  });

  test.skipIf(!onWarren)('an export from RabbitMQ 3.5 (no hashing_algorithm: MD5 then) still logs in', async () => {
    const name = t.p('old');
    const { importDefinitions } = await import('../../../server/access/definitions-import.js');
    importDefinitions(
      t.broker!.broker,
      {
        rabbit_version: '3.5.7',
        users: [{ name, password_hash: hashPassword('old-pw', 'rabbit_password_hashing_md5'), tags: 'management' }],
        permissions: [{ user: name, vhost: '/', configure: '', write: '', read: '' }],
      },
      { mode: 'runtime' },
    );
    expect(t.broker!.broker.access.users.get(name)).toMatchObject({ hashingAlgorithm: 'rabbit_password_hashing_md5', tags: ['management'] });
    await (await t.connect(name, 'old-pw')).close();
  });

  test.skipIf(!onWarren)('tags are kept as given', () => {
    expect(t.broker!.broker.access.users.get(t.p('tagged'))!.tags).toEqual(['monitoring', 'policymaker', 'custom']);
  });

  test('deleting a user closes its connections: 320 CONNECTION_FORCED', async () => {
    const name = t.p('doomed');
    const c = await amqp.connect(t.url(name, 'doomed-pw'));
    // amqplib reports a 320 on 'close' (it is not an error to it).
    const closed = new Promise<Error>((r) => c.once('close', r));
    await t.deleteUser(name);
    const err = await closed;
    expect(err.message).toBe(`Connection closed: 320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - user '${name}' is deleted"`);
  });
});
