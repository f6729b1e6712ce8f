import { isIP } from 'node:net';
import { Reader } from '../../../amqp/reader.js';
import { readFieldValue } from '../../../amqp/table.js';
import type { AccessControl } from '../../access/access-control.js';
import type { User } from '../../access/users.js';

export interface LoginRefused {
  user: string;
  reason: string;
}

/**
 * Checks a PLAIN or AMQPLAIN response through the broker's one authenticate path, then
 * the loopback rule (judged on the address the client connected to, as RabbitMQ does);
 * returns the user or why it was refused (RabbitMQ's log wording).
 */
export function authenticate(access: AccessControl, mechanism: string, response: Buffer, localAddress: string | undefined): User | LoginRefused {
  const creds = mechanism === 'PLAIN' ? parsePlain(response) : parseAmqplain(response);
  if (creds === null) return { user: '', reason: `malformed ${mechanism} response` };
  const [name, password] = creds;
  if (password === '') {
    return { user: name, reason: `user '${name}' attempted to log in with a blank password, which is prohibited by the internal authN backend.` };
  }
  const user = access.authenticate(name, password);
  if (user === null) return { user: name, reason: `user '${name}' - invalid credentials` };
  if (access.isLoopbackOnly(name) && !isLoopback(localAddress)) {
    return { user: name, reason: `user '${name}' can only connect via localhost` };
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
