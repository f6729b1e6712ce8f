/**
 * Which SASL mechanisms a connection is offered, and the EXTERNAL mechanism, as RabbitMQ
 * (with rabbitmq_auth_mechanism_ssl) has them: `auth_mechanisms` says which may be offered;
 * EXTERNAL is offered on TLS connections only, and takes the user name from the client
 * certificate (ssl_cert_login_from), which needs ssl_options.verify = verify_peer.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { ConnectionError } from '../../../amqp/errors.js';
import { certificateLoginName } from '../../access/tls/certificate.js';
import type { User } from '../../access/users.js';
import type { Broker } from '../../broker.js';
import { isLoopback, type LoginRefused } from './auth.js';

/** The mechanisms Warren implements, in the order RabbitMQ's registry lists them in connection.start. */
export const MECHANISMS = ['AMQPLAIN', 'EXTERNAL', 'PLAIN'] as const;

/** The mechanisms offered on this socket, in connection.start's order. */
export function offeredMechanisms(broker: Broker, socket: Socket): string[] {
  const configured = broker.config.authMechanisms;
  return MECHANISMS.filter((m) => configured.includes(m) && (m !== 'EXTERNAL' || socket instanceof TLSSocket));
}

/** Refuses a mechanism the client picked that we do not know (or did not offer) with RabbitMQ's texts. */
export function checkMechanism(broker: Broker, socket: Socket, mechanism: string): void {
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new ConnectionError(503, `unknown authentication mechanism '${mechanism}'`, 10, 11);
  }
  if (!offeredMechanisms(broker, socket).includes(mechanism)) {
    throw new ConnectionError(503, `invalid authentication mechanism '${mechanism}'`, 10, 11);
  }
}

/** EXTERNAL: the user the client certificate names, if it exists; otherwise why not (for the log). */
export function authenticateExternal(broker: Broker, socket: Socket): User | LoginRefused {
  if (!(socket instanceof TLSSocket)) return { user: '', reason: 'not a TLS-enabled connection' };
  const cert = socket.getPeerCertificate(false);
  if (cert === null || cert.raw === undefined) {
    return { user: '', reason: 'connection peer presented no TLS (x.509) certificate' };
  }
  const c = broker.config;
  if (c.sslOptions.verify !== 'verify_peer') {
    broker.log.warn({ verify: c.sslOptions.verify ?? 'verify_none' }, 'TLS peer verification (authentication) is disabled: EXTERNAL refuses every login');
    return { user: '', reason: 'TLS configuration is unsafe' };
  }
  let user: string | null;
  try {
    user = certificateLoginName(cert.raw, c);
  } catch (err) {
    return { user: '', reason: `cannot read the peer certificate: ${(err as Error).message}` };
  }
  if (user === null) return { user: '', reason: 'no name found' };
  // rabbit_auth_backend_internal with no password: the user need only exist.
  const known = broker.access.users.get(user);
  if (known === undefined) return { user, reason: `user '${user}' - invalid credentials` };
  if (broker.access.isLoopbackOnly(user) && !isLoopback(socket.localAddress)) {
    return { user, reason: `user '${user}' can only connect via localhost` };
  }
  return known;
}
