import { isIP } from 'node:net';
import { Reader } from '../../amqp/reader.js';
import { readFieldValue } from '../../amqp/table.js';
import type { Broker } from '../broker.js';

export interface LoginRefused {
  user: string;
  reason: string;
}

/** Checks a PLAIN or AMQPLAIN response; returns the user name or why it was refused. */
export function authenticate(broker: Broker, mechanism: string, response: Buffer, remoteAddress: string | undefined): string | LoginRefused {
  const creds = mechanism === 'PLAIN' ? parsePlain(response) : parseAmqplain(response);
  if (creds === null) return { user: '', reason: `malformed ${mechanism} response` };
  const [user, password] = creds;
  // As RabbitMQ's internal backend: a user without a password logs in only with EXTERNAL.
  if (password === '') return { user, reason: `user '${user}' attempted to log in with a blank password, which is prohibited by the internal authN backend` };
  const known = broker.users.get(user);
  if (known === undefined || known.password !== password) {
    return { user, reason: `user '${user}' - invalid credentials` };
  }
  if (broker.config.loopbackUsers.includes(user) && !isLoopback(remoteAddress)) {
    return { user, reason: `user '${user}' can only connect via localhost` };
  }
  return user;
}

/** PLAIN: [authzid] NUL authcid NUL passwd. */
function parsePlain(b: Buffer): [string, string] | null {
  const first = b.indexOf(0);
  if (first < 0) return null;
  const second = b.indexOf(0, first + 1);
  if (second < 0) return null;
  return [b.toString('utf8', first + 1, second), b.toString('utf8', second + 1)];
}

/** AMQPLAIN: a field table's contents without its length prefix, with LOGIN and PASSWORD. */
function parseAmqplain(b: Buffer): [string, string] | null {
  const r = new Reader(b, 0, b.length);
  let login: unknown;
  let password: unknown;
  try {
    while (r.pos < r.end) {
      const key = r.shortstr();
      const value = readFieldValue(r);
      if (key === 'LOGIN') login = value;
      else if (key === 'PASSWORD') password = value;
    }
  } catch {
    return null;
  }
  return typeof login === 'string' && typeof password === 'string' ? [login, password] : null;
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
