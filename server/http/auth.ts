import type { Broker } from '../broker.js';
import { isLoopback } from '../connection/handshake/auth.js';
import { AUTH_REALM, HttpError, notAuthorised } from './errors.js';

/** Who made an HTTP request, once the basic-auth credentials checked out. */
export interface HttpUser {
  readonly name: string;
  readonly tags: readonly string[];
  /**
   * The broker's own operator (`warren ctl` through the control socket), not one of its
   * users: as rabbitmqctl's acting user, it is not checked as a user would be (a shovel's
   * local URI needs no vhost access).
   */
  readonly internal?: boolean;
}

/**
 * The one place the HTTP API asks about users (the access-control room behind it; tests
 * may give their own).
 */
export interface HttpAuthenticator {
  /** The user if the name and password are right, else null. */
  check(name: string, password: string): HttpUser | null;
  /** Whether the user may only log in from a loopback address (loopback_users). */
  loopbackOnly(name: string): boolean;
  /** Whether the user has permissions in the vhost (what "may access the vhost" means in RabbitMQ). */
  canAccessVhost(user: HttpUser, vhost: string): boolean;
}

/** Over the broker's access control: users with RabbitMQ password hashes, tags and permissions. */
export class AccessAuthenticator implements HttpAuthenticator {
  constructor(private readonly broker: Broker) {}

  check(name: string, password: string): HttpUser | null {
    const u = this.broker.access.authenticate(name, password);
    return u === null ? null : { name: u.name, tags: u.tags };
  }

  loopbackOnly(name: string): boolean {
    return this.broker.access.isLoopbackOnly(name);
  }

  canAccessVhost(user: HttpUser, vhost: string): boolean {
    return this.broker.access.hasVhostAccess(user.name, vhost);
  }
}

// RabbitMQ's tag rules (rabbit_mgmt_util): administrator implies the other three.
export const isAdmin = (u: HttpUser): boolean => u.tags.includes('administrator');
export const isMonitor = (u: HttpUser): boolean => isAdmin(u) || u.tags.includes('monitoring');
export const isPolicymaker = (u: HttpUser): boolean => isAdmin(u) || u.tags.includes('policymaker');
const isManagementUser = (u: HttpUser): boolean => isMonitor(u) || isPolicymaker(u) || u.tags.includes('management');

/**
 * HTTP basic auth as the management plugin does it: no credentials is a bare 401 with the
 * realm; wrong ones are "Login failed"; a user without a management tag, or a loopback-only
 * user from elsewhere, is refused with not_authorised.
 */
export function authenticate(auth: HttpAuthenticator, header: string | undefined, remoteAddress: string | undefined): HttpUser {
  const creds = parseBasic(header);
  if (creds === null) throw new HttpError(401, '', '', { 'www-authenticate': AUTH_REALM });
  const user = auth.check(creds[0], creds[1]);
  if (user === null) throw new HttpError(401, 'not_authorized', 'Login failed', { 'www-authenticate': AUTH_REALM });
  if (auth.loopbackOnly(user.name) && !isLoopback(remoteAddress)) throw notAuthorised('User can only log in via localhost');
  if (!isManagementUser(user)) throw notAuthorised('Not management user');
  return user;
}

function parseBasic(header: string | undefined): [string, string] | null {
  if (header === undefined) return null;
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(header);
  if (m === null) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/** What a route needs beyond a management tag, as in rabbit_mgmt_util's is_authorized_* functions. */
export type Access =
  /** any management user */
  | 'user'
  /** monitoring or administrator */
  | 'monitor'
  /** administrator */
  | 'admin'
  /** administrator, or a user with access to the vhost in the path */
  | 'vhost'
  /** administrator, or a policymaker with access to the vhost in the path */
  | 'policies'
  /** administrator or monitoring, or a user with access to the vhost in the path (is_authorized_vhost_visible) */
  | 'vhost-visible'
  /** policymaker or administrator (is_authorized_global_parameters) */
  | 'policymaker';

export function authorize(auth: HttpAuthenticator, user: HttpUser, access: Access, vhost: string | undefined): void {
  switch (access) {
    case 'user':
      return;
    case 'monitor':
      if (!isMonitor(user)) throw notAuthorised('Not monitor user');
      return;
    case 'admin':
      if (!isAdmin(user)) throw notAuthorised('Not administrator user');
      return;
    case 'vhost':
      if (!isAdmin(user) && vhost !== undefined && !auth.canAccessVhost(user, vhost)) {
        throw notAuthorised('User not authorised to access virtual host');
      }
      return;
    case 'vhost-visible':
      if (!isMonitor(user) && vhost !== undefined && !auth.canAccessVhost(user, vhost)) {
        throw notAuthorised('User not authorised to access virtual host');
      }
      return;
    case 'policymaker':
      if (!isPolicymaker(user)) throw notAuthorised('User not authorised to access object');
      return;
    case 'policies':
      if (isAdmin(user)) return;
      if (!isPolicymaker(user) || (vhost !== undefined && !auth.canAccessVhost(user, vhost))) {
        throw notAuthorised('User not authorised to access object');
      }
      return;
  }
}
