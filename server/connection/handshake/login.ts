/**
 * connection.start-ok: what the client says it understands, and who it is. One place for
 * every mechanism (PLAIN, AMQPLAIN, EXTERNAL), so the connection only sees a user or a refusal.
 */
import type { Socket } from 'node:net';
import type { FieldTable } from '../../../amqp/table.js';
import type { User } from '../../access/users.js';
import type { Broker } from '../../broker.js';
import { authenticate, type LoginRefused } from './auth.js';
import { authenticateExternal, checkMechanism } from './mechanisms.js';
import type { ClientCapabilities } from '../session.js';

/** The client's `capabilities` table, as far as they change what the broker sends. */
export function clientCapabilities(props: FieldTable): ClientCapabilities {
  const caps = props['capabilities'];
  if (caps === null || typeof caps !== 'object' || Array.isArray(caps) || Buffer.isBuffer(caps)) {
    return { consumerCancelNotify: false, authenticationFailureClose: false, connectionBlocked: false };
  }
  const c = caps as FieldTable;
  return {
    consumerCancelNotify: c['consumer_cancel_notify'] === true,
    authenticationFailureClose: c['authentication_failure_close'] === true,
    connectionBlocked: c['connection.blocked'] === true,
  };
}

/**
 * Checks the mechanism (503 when unknown or not offered), then the credentials. An
 * in-process link (a shovel's or federation link's URI with no host and no user) is the
 * broker's own user, whatever it sends.
 */
export function login(broker: Broker, socket: Socket, mechanism: string, response: Buffer | string): User | LoginRefused {
  const local = socket as Socket & { inProcess?: boolean; trusted?: boolean };
  if (local.inProcess === true && local.trusted === true) return broker.access.internalUser;
  checkMechanism(broker, socket, mechanism);
  if (mechanism === 'EXTERNAL') return authenticateExternal(broker, socket);
  return authenticate(broker.access, mechanism, Buffer.isBuffer(response) ? response : Buffer.from(response), socket.localAddress);
}
