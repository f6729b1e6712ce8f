import { randomBytes } from 'node:crypto';

/** RabbitMQ's generated names: a prefix, '-', then 16 random bytes in base64url (22 chars). */
export function generateName(prefix: string): string {
  return `${prefix}-${randomBytes(16).toString('base64url')}`;
}
