import type { AccessControl } from './access-control.js';
import { AccessError } from './errors.js';
import { DEFAULT_HASHING_ALGORITHM, hashPassword, isBase64, isHashingAlgorithm, type HashingAlgorithm } from './password.js';
import { permissionFrom } from './permissions.js';
import { parseTags, validateUserLimits, type User, type UserLimits } from './users.js';

/** A user as PUT /api/users/{name} takes it (rabbit_auth_backend_internal:put_user). */
export interface UserPut {
  password?: unknown;
  password_hash?: unknown;
  hashing_algorithm?: unknown;
  tags?: unknown;
  /** Before tag lists: "true" or "false". */
  administrator?: unknown;
  limits?: unknown;
  /** vhost → {configure, write, read}: set for a new user only. */
  permissions?: unknown;
}

function parseBool(v: unknown): boolean {
  return v === true || v === 'true';
}

function checkHash(hash: unknown): string {
  if (typeof hash !== 'string' || !isBase64(hash)) throw new AccessError('bad_request', `not_base64: ${String(hash)}`, ['not_base64', hash]);
  return hash;
}

function algorithmOf(v: unknown): HashingAlgorithm {
  if (v === undefined || v === null) return DEFAULT_HASHING_ALGORITHM;
  if (!isHashingAlgorithm(v)) {
    throw new AccessError(
      'bad_request',
      `unknown hashing_algorithm ${JSON.stringify(v)} (known: rabbit_password_hashing_sha256, rabbit_password_hashing_sha512, rabbit_password_hashing_md5)`,
    );
  }
  return v;
}

/**
 * Creates or updates a user as RabbitMQ's put_user does, and says whether it was created:
 * - `tags` (a list or a comma-separated string) or the older `administrator` is required;
 * - `password` (hashed at once, "" included) or `password_hash` (base64, with an optional
 *   `hashing_algorithm`), not both; an existing user given neither loses its password and
 *   keeps its limits, a new one gets the hash of "" (it cannot log in with a password);
 * - `limits` are merged into the user's; `permissions` are set for a new user only.
 * Everything is checked before anything changes.
 */
export function putUser(access: AccessControl, name: string, body: UserPut): boolean {
  let tags: string[];
  if (body.tags !== undefined && body.tags !== null) {
    if (typeof body.tags !== 'string' && !Array.isArray(body.tags)) throw new AccessError('bad_request', 'tags must be a list or a comma-separated string');
    tags = parseTags(body.tags);
  } else if (body.administrator !== undefined && body.administrator !== null) {
    tags = parseBool(body.administrator) ? ['administrator'] : [];
  } else {
    throw new AccessError('bad_request', 'tags_not_present');
  }
  const hasPassword = body.password !== undefined && body.password !== null;
  const hasHash = body.password_hash !== undefined && body.password_hash !== null;
  if (hasPassword && hasHash) throw new AccessError('bad_request', 'both_password_and_password_hash_are_provided');
  if (hasPassword && typeof body.password !== 'string') throw new AccessError('bad_request', 'password must be a string');
  const hash = hasHash ? checkHash(body.password_hash) : null;
  const algorithm = hasHash ? algorithmOf(body.hashing_algorithm) : DEFAULT_HASHING_ALGORITHM;
  const limits: UserLimits | null = body.limits === undefined || body.limits === null ? null : validateUserLimits(body.limits);
  const existing = access.users.get(name);
  const perms = existing === undefined ? permissionsOf(body.permissions) : [];
  for (const [vhost] of perms) if (!access.hasVhost(vhost)) throw new AccessError('bad_request', `no_such_vhost: ${vhost}`, ['no_such_vhost', vhost]);

  const user: User = existing === undefined ? { name, passwordHash: '', hashingAlgorithm: DEFAULT_HASHING_ALGORITHM, tags: [], limits: {} } : { ...existing, limits: { ...existing.limits } };
  user.tags = tags;
  if (hasPassword) {
    user.passwordHash = hashPassword(body.password as string, DEFAULT_HASHING_ALGORITHM);
    user.hashingAlgorithm = DEFAULT_HASHING_ALGORITHM;
  } else if (hash !== null) {
    user.passwordHash = hash;
    user.hashingAlgorithm = algorithm;
  } else if (existing === undefined) {
    user.passwordHash = hashPassword('', DEFAULT_HASHING_ALGORITHM);
  } else {
    // RabbitMQ's clear_password: tags are set, limits left as they are.
    user.passwordHash = '';
  }
  if (limits !== null && (hasPassword || hasHash || existing === undefined)) Object.assign(user.limits, limits);
  access.putUser(user);
  for (const [vhost, p] of perms) access.setPermissions(name, vhost, p);
  return existing === undefined;
}

function permissionsOf(v: unknown): [string, ReturnType<typeof permissionFrom>][] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) throw new AccessError('bad_request', 'permissions must be an object of vhost names');
  return Object.entries(v as Record<string, { configure?: unknown; write?: unknown; read?: unknown }>).map(([vhost, p]) => [vhost, permissionFrom(p ?? {})]);
}
