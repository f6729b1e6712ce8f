import type { Logger } from 'pino';
import { ChannelError, ConnectionError } from '../../amqp/errors.js';
import type { VhostLimits, VirtualHost } from '../vhost/vhost.js';
import { AccessError, noSuchUser, noSuchVhost } from './errors.js';
import { checkPassword } from './password.js';
import { PERM_INDEX, Permission, permissionFrom, TopicPermission, WRITE, type Perm, type ResourceKind, type TopicVariables } from './permissions.js';
import { PolicyError, validatePolicy } from '../vhost/policy.js';
import { parametersOf, validationFailed, type ParameterComponent } from './parameters.js';
import { limitOf, validateUserLimits, validateVhostLimits, type User, type UserLimits } from './users.js';

/** What access control needs of the broker (implemented by Broker). */
export interface AccessHost {
  readonly vhosts: ReadonlyMap<string, VirtualHost>;
  readonly log: Logger;
  /** Creates an empty vhost wired to the broker (message store, durable saves). */
  createVhost(name: string): VirtualHost;
  /** Deletes a vhost and everything in it (its connections are closed first). */
  destroyVhost(name: string): void;
  /** Users, permissions or limits changed: the durable definitions must be saved. */
  accessChanged(): void;
  /** Closes, with 320 CONNECTION_FORCED and this text, every connection `match` selects. */
  closeConnections(match: (user: string, vhost: string) => boolean, text: string): void;
}

export interface PermissionEntry {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

export interface TopicPermissionEntry {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}

/**
 * Users, their permissions and topic permissions, user and vhost limits: who may log in,
 * to which vhost, and do what there. One authenticate path serves every mechanism (and
 * the HTTP API); one authorize serves AMQP and HTTP. Channels cache answers (authz.ts) and
 * drop them when `generation` moves, which every change here does.
 */
export class AccessControl {
  readonly users = new Map<string, User>();
  /** user → vhost → permission. */
  private readonly perms = new Map<string, Map<string, Permission>>();
  /** user → vhost → exchange → topic permission. */
  private readonly topicPerms = new Map<string, Map<string, Map<string, TopicPermission>>>();
  /** Moves on every change to users or permissions; channel caches compare it. */
  generation = 0;
  private readonly connectionsByUser = new Map<string, number>();
  private readonly connectionsByVhost = new Map<string, number>();
  private readonly channelsByUser = new Map<string, number>();
  /** While set (a definitions import), changes are not logged one by one: the import sums them up. */
  quiet = false;
  /** Runtime parameter components other than the built-in vhost-limits and operator_policy. */
  private readonly components = new Map<string, ParameterComponent>();
  /**
   * The broker's own user, for in-process links (shovels, federation) whose URI names no
   * user, as RabbitMQ's direct connections run as `none`: every permission in every vhost,
   * and it may publish messages with any user_id (they keep the one they had).
   */
  readonly internalUser: User = { name: 'none', passwordHash: '', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: ['impersonator'], limits: {} };
  private static readonly ALL = permissionFrom({ configure: '.*', write: '.*', read: '.*' });

  constructor(
    private readonly host: AccessHost,
    /** Users that may only log in from a loopback address (loopback_users). */
    private readonly loopbackUsers: readonly string[],
  ) {}

  // ---- authentication ------------------------------------------------------------------

  /**
   * The one password check, for PLAIN, AMQPLAIN and HTTP basic auth: the user, or null
   * for an unknown user, a wrong password, or a blank one (which RabbitMQ's internal
   * backend always refuses). The loopback rule is the caller's (isLoopbackOnly).
   */
  authenticate(name: string, password: string): User | null {
    const u = this.users.get(name);
    if (u === undefined || password === '') return null;
    return checkPassword(password, u.passwordHash, u.hashingAlgorithm) ? u : null;
  }

  isLoopbackOnly(name: string): boolean {
    return this.loopbackUsers.includes(name);
  }

  // ---- authorisation -------------------------------------------------------------------

  private userName(user: User | string): string {
    return typeof user === 'string' ? user : user.name;
  }

  permissions(user: User | string, vhost: string): Permission | undefined {
    if (user === this.internalUser) return AccessControl.ALL;
    return this.perms.get(this.userName(user))?.get(vhost);
  }

  hasVhost(name: string): boolean {
    return this.host.vhosts.has(name);
  }

  /** Whether the user may use the vhost at all (has permissions there). */
  hasVhostAccess(user: User | string, vhost: string): boolean {
    return this.host.vhosts.has(vhost) && this.permissions(user, vhost) !== undefined;
  }

  /** connection.open's check: 530 when the vhost is missing or the user has no permissions there. */
  checkVhostAccess(user: User | string, vhost: string): void {
    const name = this.userName(user);
    if (!this.host.vhosts.has(vhost) || this.permissions(user, vhost) === undefined) {
      throw new ConnectionError(530, `access to vhost '${vhost}' refused for user '${name}'`, 10, 40);
    }
  }

  /**
   * Everything connection.open checks, in RabbitMQ's order (vhost connection limit, user
   * connection limit, vhost access); on success the connection is counted until
   * connectionClosed.
   */
  openConnection(user: User, vhost: string): void {
    const v = this.host.vhosts.get(vhost);
    if (v === undefined) throw new ConnectionError(530, `vhost ${vhost} not found`, 10, 40);
    const vmax = limitOf(v.limits, 'max-connections');
    if (vmax !== null && (this.connectionsByVhost.get(vhost) ?? 0) >= vmax) {
      throw new ConnectionError(530, `access to vhost '${vhost}' refused for user '${user.name}': connection limit (${vmax}) is reached`, 10, 40);
    }
    const umax = limitOf(user.limits, 'max-connections');
    if (umax !== null && (this.connectionsByUser.get(user.name) ?? 0) >= umax) {
      throw new ConnectionError(530, `connection refused for user '${user.name}': user connection limit (${umax}) is reached`, 10, 40);
    }
    this.checkVhostAccess(user, vhost);
    bump(this.connectionsByUser, user.name, 1);
    bump(this.connectionsByVhost, vhost, 1);
  }

  connectionClosed(user: string, vhost: string): void {
    bump(this.connectionsByUser, user, -1);
    bump(this.connectionsByVhost, vhost, -1);
  }

  /** A new channel: 530 when the user's max-channels (over all its connections) is reached. */
  openChannel(user: User): void {
    // The current record: limits may have changed since the connection logged in.
    const max = limitOf((this.users.get(user.name) ?? user).limits, 'max-channels');
    if (max !== null && (this.channelsByUser.get(user.name) ?? 0) >= max) {
      throw new ConnectionError(530, `number of channels opened for user '${user.name}' has reached the maximum allowed user limit of (${max})`);
    }
    bump(this.channelsByUser, user.name, 1);
  }

  channelClosed(user: string, count = 1): void {
    bump(this.channelsByUser, user, -count);
  }

  connectionCount(vhost?: string, user?: string): number {
    if (vhost !== undefined) return this.connectionsByVhost.get(vhost) ?? 0;
    if (user !== undefined) return this.connectionsByUser.get(user) ?? 0;
    let n = 0;
    for (const c of this.connectionsByVhost.values()) n += c;
    return n;
  }

  /**
   * Throws RabbitMQ's 403 unless the user's permission in the vhost lets `perm` on the
   * queue or exchange (the default exchange is named amq.default, as RabbitMQ does).
   * Uncached: channels go through their ChannelAuthz.
   */
  authorize(user: User | string, vhost: string, kind: ResourceKind, name: string, perm: Perm): void {
    const p = this.permissions(user, vhost);
    const shown = kind === 'exchange' && name === '' ? 'amq.default' : name;
    if (p === undefined || !p.allows(PERM_INDEX[perm], shown)) throw accessRefused(kind, shown, vhost, this.userName(user));
  }

  /** The user's topic permission on one exchange, if any (none means every routing key is allowed). */
  topicPermission(user: User | string, vhost: string, exchange: string): TopicPermission | undefined {
    return this.topicPerms.get(this.userName(user))?.get(vhost)?.get(exchange);
  }

  /** Whether the user has any topic permission in the vhost (most have none: nothing to check). */
  hasTopicPermissions(user: User | string, vhost: string): boolean {
    return (this.topicPerms.get(this.userName(user))?.get(vhost)?.size ?? 0) > 0;
  }

  /**
   * Topic authorisation, for topic exchanges only (the caller checks the type): publish
   * needs write, queue.bind/unbind and exchange.bind/unbind need read on the routing key.
   */
  authorizeTopic(user: User | string, vhost: string, exchange: string, routingKey: string, perm: 'write' | 'read', vars?: TopicVariables): void {
    const name = this.userName(user);
    const tp = this.topicPermission(name, vhost, exchange);
    if (tp === undefined) return;
    const re = tp.compile(perm === 'write' ? WRITE : 2, vars ?? { username: name, vhost });
    if (!re.test(routingKey)) throw topicRefused(routingKey, exchange, vhost, name);
  }

  // ---- changes -------------------------------------------------------------------------

  private note(fields: object, msg: string): void {
    if (!this.quiet) this.host.log.info(fields, msg);
  }

  private changed(): void {
    this.generation++;
    this.host.accessChanged();
  }

  private userOrDie(name: string): User {
    const u = this.users.get(name);
    if (u === undefined) throw noSuchUser(name);
    return u;
  }

  private vhostOrDie(name: string): VirtualHost {
    const v = this.host.vhosts.get(name);
    if (v === undefined) throw noSuchVhost(name);
    return v;
  }

  /** Creates or replaces a user (its permissions stay, as with RabbitMQ's put_user). */
  putUser(user: User): void {
    const had = this.users.has(user.name);
    this.users.set(user.name, user);
    this.note({ user: user.name, tags: user.tags }, had ? 'user updated' : 'user created');
    this.changed();
  }

  /** Creates a user; AccessError if one of that name exists. */
  addUser(user: User): void {
    if (this.users.has(user.name)) throw new AccessError('bad_request', `user_already_exists: ${user.name}`);
    this.putUser(user);
  }

  /** Deletes a user with its permissions, and closes its connections ("user 'u' is deleted"). */
  deleteUser(name: string): void {
    this.userOrDie(name);
    this.users.delete(name);
    this.perms.delete(name);
    this.topicPerms.delete(name);
    this.note({ user: name }, 'user deleted');
    this.changed();
    this.host.closeConnections((u) => u === name, `user '${name}' is deleted`);
  }

  setTags(name: string, tags: string[]): void {
    this.userOrDie(name).tags = [...tags];
    this.changed();
  }

  /** Sets (replaces) the user's permissions in the vhost; plain `{configure, write, read}` is checked first. */
  setPermissions(user: string, vhost: string, perm: Permission | { configure: unknown; write: unknown; read: unknown }): void {
    const p = perm instanceof Permission ? perm : permissionFrom(perm);
    this.userOrDie(user);
    this.vhostOrDie(vhost);
    let m = this.perms.get(user);
    if (m === undefined) this.perms.set(user, (m = new Map()));
    m.set(vhost, p);
    this.note({ user, vhost, configure: p.configure, write: p.write, read: p.read }, 'permissions set');
    this.changed();
  }

  clearPermissions(user: string, vhost: string): void {
    this.userOrDie(user);
    this.vhostOrDie(vhost);
    this.perms.get(user)?.delete(vhost);
    this.note({ user, vhost }, 'permissions cleared');
    this.changed();
  }

  /** Sets the user's topic permissions on one exchange of the vhost (plain `{exchange, write, read}` accepted). */
  setTopicPermissions(user: string, vhost: string, perm: TopicPermission | { exchange: string; write: string; read: string }): void {
    const tp = perm instanceof TopicPermission ? perm : new TopicPermission(perm.exchange, perm.write, perm.read);
    this.userOrDie(user);
    this.vhostOrDie(vhost);
    let byVhost = this.topicPerms.get(user);
    if (byVhost === undefined) this.topicPerms.set(user, (byVhost = new Map()));
    let byExchange = byVhost.get(vhost);
    if (byExchange === undefined) byVhost.set(vhost, (byExchange = new Map()));
    byExchange.set(tp.exchange, tp);
    this.note({ user, vhost, exchange: tp.exchange, write: tp.write, read: tp.read }, 'topic permissions set');
    this.changed();
  }

  /** Clears the user's topic permissions in the vhost, on one exchange or on all. */
  clearTopicPermissions(user: string, vhost: string, exchange?: string): void {
    this.userOrDie(user);
    this.vhostOrDie(vhost);
    const byExchange = this.topicPerms.get(user)?.get(vhost);
    if (exchange === undefined) this.topicPerms.get(user)?.delete(vhost);
    else byExchange?.delete(exchange);
    this.changed();
  }

  setUserLimits(user: string, limits: unknown): void {
    const u = this.userOrDie(user);
    u.limits = { ...u.limits, ...validateUserLimits(limits) };
    this.note({ user, limits: u.limits }, 'user limits set');
    this.changed();
  }

  /** Clears one user limit, or all of them ('all'). */
  clearUserLimits(user: string, which: keyof UserLimits | 'all' = 'all'): void {
    const u = this.userOrDie(user);
    if (which === 'all') u.limits = {};
    else delete u.limits[which];
    this.changed();
  }

  /**
   * Sets the vhost's limits (the `vhost-limits` parameter: the whole value is replaced; an
   * empty list, as RabbitMQ exports a parameter whose limits were all cleared, is none).
   */
  setVhostLimits(vhost: string, limits: unknown): void {
    const v = this.vhostOrDie(vhost);
    v.limits = validateVhostLimits(Array.isArray(limits) && limits.length === 0 ? {} : limits) as VhostLimits;
    v.limitsParameter = true;
    this.note({ vhost, limits: v.limits }, 'vhost limits set');
    this.changed();
  }

  /** Clears the vhost's limits, parameter and all. */
  clearVhostLimits(vhost: string): void {
    const v = this.vhostOrDie(vhost);
    v.limits = {};
    v.limitsParameter = false;
    this.changed();
  }

  /**
   * Registers the runtime parameter component `name` (a plugin's runtime_parameter module in
   * RabbitMQ), replacing any earlier one: its validator runs before a value is stored, its
   * apply and remove hooks after. Parameters of that component already stored (recovered at
   * start, or imported) are applied at once, so the order of start-up does not matter.
   */
  registerParameterComponent(name: string, component: ParameterComponent): void {
    this.components.set(name, component);
    if (component.apply === undefined) return;
    for (const v of this.host.vhosts.values()) {
      for (const p of [...v.parameters.values()]) if (p.component === name) this.hook(name, v.name, p.name, () => component.apply!(v.name, p.name, p.value, null));
    }
  }

  /** Runs a component's hook: what it starts failing is its own trouble, logged, not the caller's. */
  private hook(component: string, vhost: string, name: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.host.log.error({ err, component, vhost, name }, 'runtime parameter component failed');
    }
  }

  /**
   * Sets a runtime parameter, as PUT /api/parameters/{component}/{vhost}/{name} and a
   * definitions import do: `vhost-limits` (named `limits`) sets the vhost's limits,
   * `operator_policy` an operator policy ({pattern, definition, priority, apply-to}), any
   * other component must be registered and is validated by it. Refusals are AccessErrors
   * with RabbitMQ's text ("Validation failed\n\ncomponent x not found\n"). Returns true
   * when the parameter is new.
   */
  setParameter(vhost: string, component: string, name: string, value: unknown, user: string | null = null): boolean {
    const v = this.vhostOrDie(vhost);
    if (component === 'policy') throw new AccessError('bad_request', 'policies may not be set using this method');
    if (component === 'vhost-limits') {
      if (name !== 'limits') throw new AccessError('bad_request', `vhost-limits parameter must be named 'limits', not '${name}'`);
      const isNew = !v.limitsParameter;
      try {
        this.setVhostLimits(vhost, value);
      } catch (err) {
        if (err instanceof AccessError && err.kind === 'bad_request') throw new AccessError('bad_request', validationFailed([err.reason]));
        throw err;
      }
      return isNew;
    }
    if (component === 'operator_policy') {
      const isNew = v.operatorPolicies.get(name) === undefined;
      const o = (value ?? {}) as Record<string, unknown>;
      try {
        // As a parameter (unlike through set_operator_policy) an operator policy must give its priority.
        if (value !== null && typeof value === 'object' && !('priority' in o)) throw new PolicyError(validationFailed([`Key "priority" not found in ${name}`]).trimEnd());
        v.setOperatorPolicy(validatePolicy({ vhost, name, pattern: o['pattern'], applyTo: o['apply-to'], priority: o['priority'], definition: o['definition'] }, true));
      } catch (err) {
        if (err instanceof PolicyError) throw new AccessError('bad_request', `${err.message}\n`);
        throw err;
      }
      return isNew;
    }
    const c = this.components.get(component);
    if (c === undefined) throw new AccessError('bad_request', validationFailed([`component ${component} not found`]));
    const errors = c.validate(vhost, name, value, user) ?? [];
    if (errors.length > 0) throw new AccessError('bad_request', validationFailed(errors));
    const key = `${component}/${name}`;
    const old = v.parameters.get(key);
    v.parameters.set(key, { component, name, value });
    this.note({ vhost, component, name, user }, old === undefined ? 'runtime parameter set' : 'runtime parameter updated');
    this.changed();
    // RabbitMQ notifies the component only when the value changed.
    // (Called as methods: a component may be a class instance, as Shovels is.)
    if (c.apply !== undefined && (old === undefined || JSON.stringify(old.value) !== JSON.stringify(value))) this.hook(component, vhost, name, () => c.apply!(vhost, name, value, user));
    return old === undefined;
  }

  /** A runtime parameter's value, or undefined. */
  parameter(vhost: string, component: string, name: string): unknown {
    return this.host.vhosts.get(vhost)?.parameters.get(`${component}/${name}`)?.value;
  }

  /** Clears a runtime parameter; false when there was none. */
  clearParameter(vhost: string, component: string, name: string): boolean {
    const v = this.vhostOrDie(vhost);
    if (component === 'policy') throw new AccessError('bad_request', 'policies may not be cleared using this method');
    if (component === 'vhost-limits') {
      const had = name === 'limits' && v.limitsParameter;
      if (had) this.clearVhostLimits(vhost);
      return had;
    }
    if (component === 'operator_policy') return v.clearOperatorPolicy(name);
    const had = v.parameters.delete(`${component}/${name}`);
    if (!had) return false;
    this.note({ vhost, component, name }, 'runtime parameter cleared');
    this.changed();
    const c = this.components.get(component);
    if (c?.remove !== undefined) this.hook(component, vhost, name, () => c.remove!(vhost, name));
    return true;
  }

  /** Creates a vhost (no-op when it exists); metadata as RabbitMQ keeps it. */
  addVhost(name: string, meta: { description?: string; tags?: string[]; defaultQueueType?: string } = {}): VirtualHost {
    let v = this.host.vhosts.get(name);
    if (v === undefined) {
      v = this.host.createVhost(name);
      this.note({ vhost: name }, 'vhost created');
    }
    if (meta.description !== undefined) v.metadata.description = meta.description;
    if (meta.tags !== undefined) v.metadata.tags = [...meta.tags];
    if (meta.defaultQueueType !== undefined) v.metadata.defaultQueueType = meta.defaultQueueType;
    this.changed();
    return v;
  }

  /** Deletes a vhost, its objects, and every permission on it; its connections are closed. */
  deleteVhost(name: string): void {
    const v = this.vhostOrDie(name);
    // Its runtime parameters are cleared first, so that their components stop what they run.
    for (const p of parametersOf(v)) if (p.component !== 'vhost-limits' && p.component !== 'operator_policy') this.clearParameter(name, p.component, p.name);
    this.host.closeConnections((_, v) => v === name, `vhost '${name}' is deleted`);
    this.host.destroyVhost(name);
    for (const m of this.perms.values()) m.delete(name);
    for (const m of this.topicPerms.values()) m.delete(name);
    this.note({ vhost: name }, 'vhost deleted');
    this.changed();
  }

  // ---- listing -------------------------------------------------------------------------

  listPermissions(filter: { user?: string; vhost?: string } = {}): PermissionEntry[] {
    const out: PermissionEntry[] = [];
    for (const [user, m] of this.perms) {
      if (filter.user !== undefined && user !== filter.user) continue;
      for (const [vhost, p] of m) {
        if (filter.vhost !== undefined && vhost !== filter.vhost) continue;
        out.push({ user, vhost, configure: p.configure, write: p.write, read: p.read });
      }
    }
    return out;
  }

  listTopicPermissions(filter: { user?: string; vhost?: string } = {}): TopicPermissionEntry[] {
    const out: TopicPermissionEntry[] = [];
    for (const [user, byVhost] of this.topicPerms) {
      if (filter.user !== undefined && user !== filter.user) continue;
      for (const [vhost, byExchange] of byVhost) {
        if (filter.vhost !== undefined && vhost !== filter.vhost) continue;
        for (const tp of byExchange.values()) out.push({ user, vhost, exchange: tp.exchange, write: tp.write, read: tp.read });
      }
    }
    return out;
  }
}

export function accessRefused(kind: ResourceKind, name: string, vhost: string, user: string): ChannelError {
  return new ChannelError(403, `access to ${kind} '${name}' in vhost '${vhost}' refused for user '${user}'`);
}

export function topicRefused(routingKey: string, exchange: string, vhost: string, user: string): ChannelError {
  return new ChannelError(403, `access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost}' refused for user '${user}'`);
}
