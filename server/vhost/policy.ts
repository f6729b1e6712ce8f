import type { Overflow, QueuePolicyDefinition } from '../queue/queue-args.js';

export type ApplyTo = 'queues' | 'exchanges' | 'all';

export interface PolicyDefinition extends QueuePolicyDefinition {
  'alternate-exchange'?: string;
}

/** A policy as `rabbitmqctl set_policy` defines one. */
export interface Policy {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: ApplyTo;
  priority: number;
  definition: PolicyDefinition;
}

/** A policy the broker refuses; the message is meant for a person at a terminal. */
export class PolicyError extends Error {}

const NON_NEGATIVE = ['message-ttl', 'max-length', 'max-length-bytes', 'delivery-limit'] as const;
const STRINGS = ['dead-letter-exchange', 'dead-letter-routing-key', 'alternate-exchange'] as const;
const OVERFLOWS: readonly Overflow[] = ['drop-head', 'reject-publish', 'reject-publish-dlx'];
const DLX_STRATEGIES = ['at-most-once', 'at-least-once'];
const KNOWN = new Set<string>([...NON_NEGATIVE, ...STRINGS, 'expires', 'overflow', 'dead-letter-strategy']);
const APPLY_TO: readonly ApplyTo[] = ['queues', 'exchanges', 'all'];

/** Checks a policy from the CLI or the config file; throws PolicyError saying what is wrong. */
export function validatePolicy(p: {
  vhost?: unknown;
  name?: unknown;
  pattern?: unknown;
  applyTo?: unknown;
  priority?: unknown;
  definition?: unknown;
}): Policy {
  const vhost = p.vhost ?? '/';
  if (typeof vhost !== 'string') throw new PolicyError('vhost must be a string');
  if (typeof p.name !== 'string' || p.name === '') throw new PolicyError('a policy needs a name');
  if (typeof p.pattern !== 'string') throw new PolicyError(`policy '${p.name}': pattern must be a string`);
  try {
    new RegExp(p.pattern);
  } catch (err) {
    throw new PolicyError(`policy '${p.name}': invalid pattern ${JSON.stringify(p.pattern)}: ${(err as Error).message}`);
  }
  const applyTo = p.applyTo ?? 'all';
  if (!APPLY_TO.includes(applyTo as ApplyTo)) {
    throw new PolicyError(`policy '${p.name}': apply-to must be one of queues, exchanges, all (got ${JSON.stringify(applyTo)})`);
  }
  const priority = p.priority ?? 0;
  if (!Number.isInteger(priority)) throw new PolicyError(`policy '${p.name}': priority must be an integer`);
  const def = p.definition;
  if (def === null || typeof def !== 'object' || Array.isArray(def)) {
    throw new PolicyError(`policy '${p.name}': the definition must be a JSON object, e.g. {"max-length": 100}`);
  }
  const d = def as Record<string, unknown>;
  if (Object.keys(d).length === 0) throw new PolicyError(`policy '${p.name}': the definition is empty`);
  for (const key of Object.keys(d)) {
    if (!KNOWN.has(key)) {
      throw new PolicyError(`policy '${p.name}': '${key}' is not a recognised policy key (known: ${[...KNOWN].sort().join(', ')})`);
    }
  }
  for (const key of NON_NEGATIVE) {
    if (key in d && !(Number.isInteger(d[key]) && (d[key] as number) >= 0)) {
      throw new PolicyError(`policy '${p.name}': ${key} must be a non-negative integer`);
    }
  }
  if ('expires' in d && !(Number.isInteger(d['expires']) && (d['expires'] as number) > 0)) {
    throw new PolicyError(`policy '${p.name}': expires must be a positive integer (ms)`);
  }
  for (const key of STRINGS) {
    if (key in d && typeof d[key] !== 'string') throw new PolicyError(`policy '${p.name}': ${key} must be a string`);
  }
  if ('overflow' in d && !OVERFLOWS.includes(d['overflow'] as Overflow)) {
    throw new PolicyError(`policy '${p.name}': overflow must be one of ${OVERFLOWS.join(', ')}`);
  }
  if ('dead-letter-strategy' in d && !DLX_STRATEGIES.includes(d['dead-letter-strategy'] as string)) {
    throw new PolicyError(`policy '${p.name}': dead-letter-strategy must be one of ${DLX_STRATEGIES.join(', ')}`);
  }
  return { vhost, name: p.name, pattern: p.pattern, applyTo: applyTo as ApplyTo, priority: priority as number, definition: d as PolicyDefinition };
}

/** The policies of one vhost, and which one applies to a queue or exchange. */
export class PolicySet {
  private readonly policies = new Map<string, { policy: Policy; re: RegExp }>();

  set(p: Policy): void {
    this.policies.set(p.name, { policy: p, re: new RegExp(p.pattern) });
  }

  clear(name: string): boolean {
    return this.policies.delete(name);
  }

  list(): Policy[] {
    return [...this.policies.values()].map((e) => e.policy).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The highest-priority policy matching the name (ties: the first name in order), or null.
   * `applies`: whether a definition suits the object at all (RabbitMQ skips a policy with a
   * key the queue's type does not support, and looks further).
   */
  match(kind: 'queues' | 'exchanges', name: string, applies?: (d: PolicyDefinition) => boolean): Policy | null {
    let best: Policy | null = null;
    for (const { policy, re } of this.policies.values()) {
      if (policy.applyTo !== 'all' && policy.applyTo !== kind) continue;
      if (applies !== undefined && !applies(policy.definition)) continue;
      if (!re.test(name)) continue;
      if (best === null || policy.priority > best.priority || (policy.priority === best.priority && policy.name < best.name)) {
        best = policy;
      }
    }
    return best;
  }
}
