import { AccessError } from './errors.js';

export type Perm = 'configure' | 'write' | 'read';
export type ResourceKind = 'queue' | 'exchange';

export const CONFIGURE = 0;
export const WRITE = 1;
export const READ = 2;
export const PERM_INDEX: Readonly<Record<Perm, number>> = { configure: CONFIGURE, write: WRITE, read: READ };

/**
 * Compiles a permission pattern as RabbitMQ matches it: an unanchored search, where the
 * empty pattern means "nothing" (^$). Patterns are PCRE in RabbitMQ and JavaScript
 * regular expressions here; the two agree for what people write (docs/compatibility.md).
 */
export function compilePattern(source: string, what: string): RegExp {
  try {
    return new RegExp(source === '' ? '^$' : source);
  } catch (err) {
    // RabbitMQ's HTTP API shows {invalid_regexp, Pattern, PcreError}; the error is Node's here.
    const why = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '');
    throw new AccessError('bad_request', `${what}: regular expression '${source}' is invalid: ${why}`, ['invalid_regexp', source, why]);
  }
}

/** A user's configure, write and read patterns in one vhost. */
export class Permission {
  private readonly res: readonly RegExp[];
  /** Per perm: the pattern matches every name (`.*`), so no check is needed at all. */
  readonly all: readonly boolean[];

  constructor(
    readonly configure: string,
    readonly write: string,
    readonly read: string,
  ) {
    const sources = [configure, write, read];
    this.res = sources.map((s) => compilePattern(s, 'permission'));
    this.all = sources.map((s) => s === '.*' || s === '^.*' || s === '^.*$' || s === '.*$');
  }

  /** perm is CONFIGURE, WRITE or READ. */
  allows(perm: number, name: string): boolean {
    return this.all[perm]! || this.res[perm]!.test(name);
  }
}

/** Checks a permission entry from a file or a request; throws with RabbitMQ's meaning. */
export function permissionFrom(v: { configure?: unknown; write?: unknown; read?: unknown }): Permission {
  const s = (x: unknown, key: string): string => {
    if (typeof x !== 'string') throw new AccessError('bad_request', `permission ${key} must be a string (a regular expression)`);
    return x;
  };
  return new Permission(s(v.configure, 'configure'), s(v.write, 'write'), s(v.read, 'read'));
}

/** Variables expanded in topic permission patterns. */
export interface TopicVariables {
  username: string;
  vhost: string;
  /** Set by protocols that have one (MQTT); AMQP 0-9-1 has none, so `{client_id}` stays as written. */
  client_id?: string;
}

/** Write and read patterns on routing keys, for one user, vhost and topic exchange. */
export class TopicPermission {
  constructor(
    readonly exchange: string,
    readonly write: string,
    readonly read: string,
  ) {
    // Refuse a bad pattern now rather than at the first publish (variables only add text).
    compilePattern(write, 'topic permission');
    compilePattern(read, 'topic permission');
  }

  /** The write (WRITE) or read (READ) pattern with its variables expanded, compiled. */
  compile(perm: number, vars: TopicVariables): RegExp {
    let src = perm === WRITE ? this.write : this.read;
    // As rabbit_auth_backend_internal:expand_topic_permission: plain text replacement.
    for (const [k, v] of Object.entries(vars)) if (v !== undefined) src = src.split(`{${k}}`).join(v);
    return compilePattern(src, 'topic permission');
  }
}
