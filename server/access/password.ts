import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * RabbitMQ's password hashes (rabbit_password): base64 of a 4-byte random salt followed by
 * H(salt ‖ utf8(password)), H chosen by the user's `hashing_algorithm`. A hash exported
 * from RabbitMQ checks here unchanged, and the reverse.
 */
export const HASHING_ALGORITHMS = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
} as const;

export type HashingAlgorithm = keyof typeof HASHING_ALGORITHMS;

export const DEFAULT_HASHING_ALGORITHM: HashingAlgorithm = 'rabbit_password_hashing_sha256';

export function isHashingAlgorithm(name: unknown): name is HashingAlgorithm {
  return typeof name === 'string' && Object.hasOwn(HASHING_ALGORITHMS, name);
}

function saltedHash(algorithm: HashingAlgorithm, salt: Buffer, password: string): Buffer {
  return createHash(HASHING_ALGORITHMS[algorithm]).update(salt).update(password, 'utf8').digest();
}

/** A new salted hash of the password, base64 as RabbitMQ stores and exports it. */
export function hashPassword(password: string, algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM): string {
  const salt = randomBytes(4);
  return Buffer.concat([salt, saltedHash(algorithm, salt, password)]).toString('base64');
}

/**
 * Whether the password matches the stored hash. An empty or malformed hash never matches
 * (a user without a password cannot log in with one), and the digests are compared in
 * constant time.
 */
export function checkPassword(password: string, hash: string, algorithm: string): boolean {
  if (!isHashingAlgorithm(algorithm)) return false;
  const raw = Buffer.from(hash, 'base64');
  if (raw.length <= 4) return false;
  const expected = raw.subarray(4);
  const actual = saltedHash(algorithm, raw.subarray(0, 4), password);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** True when the text is valid base64 as RabbitMQ's b64decode_or_throw accepts it. */
export function isBase64(text: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0;
}
