import { erlJson, erlProplist } from '../../amqp/erl-term.js';
import { AccessError } from './errors.js';
import type { VhostLimits } from '../vhost/vhost.js';
import { DEFAULT_HASHING_ALGORITHM, hashPassword, isBase64, isHashingAlgorithm, type HashingAlgorithm } from './password.js';

/** Per-user limits as RabbitMQ keeps them (a negative value means "no limit"). */
export type UserLimits = {
  'max-connections'?: number;
  'max-channels'?: number;
};

/** An internal user, as RabbitMQ's definitions export has it. */
export interface User {
  name: string;
  /** base64(salt ‖ hash); '' when the user has no password (it cannot log in with one). */
  passwordHash: string;
  hashingAlgorithm: HashingAlgorithm;
  /** administrator, monitoring, policymaker, management, impersonator, or any other word. */
  tags: string[];
  limits: UserLimits;
}

/**
 * A user as given in a definitions file or the JSON config: a plaintext `password`
 * (hashed at once, never kept) or a `password_hash` with its `hashing_algorithm`.
 */
export interface UserInput {
  name?: unknown;
  password?: unknown;
  password_hash?: unknown;
  hashing_algorithm?: unknown;
  tags?: unknown;
  limits?: unknown;
}

/** Tags as a list or a comma-separated string (both are accepted by RabbitMQ), trimmed. */
export function parseTags(v: unknown): string[] {
  const list = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : [];
  return list.map((t) => t.trim()).filter((t) => t !== '');
}

const USER_LIMIT_KEYS = ['max-connections', 'max-channels'] as const;
const VHOST_LIMIT_KEYS = ['max-connections', 'max-queues'] as const;

/**
 * Validates a limits object as rabbit_parameter_validation:proplist does; `scope` is the
 * name RabbitMQ puts in its messages ("user-limits", "limits").
 */
function validateLimits<K extends string>(v: unknown, keys: readonly K[], scope: string): Partial<Record<K, number>> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new AccessError('bad_request', `${scope} not a list ${erlJson(v)}`);
  }
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !(keys as readonly string[]).includes(k));
  if (unknown.length > 0) throw new AccessError('bad_request', `Unrecognised terms ${erlProplist(o, unknown)} in ${scope}`);
  const out: Partial<Record<K, number>> = {};
  for (const k of keys) {
    if (!(k in o)) continue;
    const n = o[k];
    if (!Number.isInteger(n)) throw new AccessError('bad_request', `${k} should be a number, actually was ${erlJson(n)}`);
    out[k] = n as number;
  }
  return out;
}

export function validateUserLimits(v: unknown): UserLimits {
  return validateLimits(v, USER_LIMIT_KEYS, 'user-limits');
}

/** Vhost limits (the `vhost-limits` runtime parameter named `limits`). */
export function validateVhostLimits(v: unknown): VhostLimits {
  return validateLimits(v, VHOST_LIMIT_KEYS, 'limits');
}

/** A limit in force: null for none (absent or negative), else the count allowed (0 allows nothing). */
export function limitOf<L extends object>(limits: L, key: keyof L): number | null {
  const n = limits[key] as number | undefined;
  return n === undefined || n < 0 ? null : n;
}

/**
 * Builds a user from a definitions or config entry. An entry with neither password nor
 * hash gives a user without a password, as RabbitMQ's put_user does (such a user can
 * only log in by other means, e.g. EXTERNAL).
 */
export function userFromInput(u: UserInput, hashAlgorithmIfMissing: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM): User {
  if (typeof u.name !== 'string' || u.name === '') throw new AccessError('bad_request', 'a user needs a name');
  const hasPassword = u.password !== undefined && u.password !== null;
  const hasHash = u.password_hash !== undefined && u.password_hash !== null;
  if (hasPassword && hasHash) throw new AccessError('bad_request', 'both_password_and_password_hash_are_provided');
  let passwordHash = '';
  let hashingAlgorithm = DEFAULT_HASHING_ALGORITHM;
  if (hasHash) {
    if (typeof u.password_hash !== 'string' || !isBase64(u.password_hash)) {
      throw new AccessError('bad_request', `user '${u.name}': password_hash is not valid base64`);
    }
    const alg = u.hashing_algorithm ?? hashAlgorithmIfMissing;
    if (!isHashingAlgorithm(alg)) {
      throw new AccessError('bad_request', `user '${u.name}': unknown hashing_algorithm ${JSON.stringify(alg)} (known: rabbit_password_hashing_sha256, rabbit_password_hashing_sha512, rabbit_password_hashing_md5)`);
    }
    passwordHash = u.password_hash;
    hashingAlgorithm = alg;
  } else if (hasPassword) {
    if (typeof u.password !== 'string') throw new AccessError('bad_request', `user '${u.name}': password must be a string`);
    passwordHash = u.password === '' ? '' : hashPassword(u.password, DEFAULT_HASHING_ALGORITHM);
  }
  const limits = u.limits === undefined || u.limits === null ? {} : validateUserLimits(u.limits);
  return { name: u.name, passwordHash, hashingAlgorithm, tags: parseTags(u.tags), limits };
}

/**
 * The algorithm of a hash exported without `hashing_algorithm`: RabbitMQ before 3.6 used
 * MD5, 3.6.0 SHA-256 (rabbit_auth_backend_internal:hashing_algorithm).
 */
export function legacyHashingAlgorithm(version: unknown): HashingAlgorithm {
  return typeof version === 'string' && /^3\.[0-5]\./.test(version) ? 'rabbit_password_hashing_md5' : DEFAULT_HASHING_ALGORITHM;
}

/** The user as RabbitMQ's definitions export lists it. */
export function userToJson(u: User): { name: string; password_hash: string; hashing_algorithm: string; tags: string[]; limits: UserLimits } {
  return { name: u.name, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm, tags: [...u.tags], limits: { ...u.limits } };
}
