import { randomBytes } from 'node:crypto';

/** RabbitMQ's generated names: a prefix, '-', then 16 random bytes in base64url (22 chars). */
export function generateName(prefix: string): string {
  return `${prefix}-${randomBytes(16).toString('base64url')}`;
}

/** An IPv4-mapped IPv6 address as the IPv4 address it is, as RabbitMQ shows it. */
export function plainAddress(a: string | undefined): string {
  if (a === undefined) return '?';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
