import { erlJson } from '../../amqp/erl-term.js';
import { bestPolicy } from '../../routing/topology/policy-match.js';
import type { QueuePolicyDefinition } from '../queue/queue-args.js';
import { definitionError, EFFECTIVE_POLICY_KEYS, mergePolicyValue } from './policy-keys.js';

export type ApplyTo = 'queues' | 'exchanges' | 'all';

export interface PolicyDefinition extends QueuePolicyDefinition {
  'alternate-exchange'?: string;
  /** Every other key RabbitMQ accepts (stored and exported; see policy-keys.ts). */
  [key: string]: unknown;
}

/** A policy as `rabbitmqctl set_policy` (or set_operator_policy) defines one. */
export interface Policy {
  vhost: string;
  name: string;
  pattern: string;
  applyTo: ApplyTo;
  priority: number;
  definition: PolicyDefinition;
}

/**
 * A policy the broker refuses. The message is RabbitMQ's, as its HTTP API gives it in
 * `reason` ("Validation failed\n\n... are not recognised policy settings").
 */
export class PolicyError extends Error {}

const APPLY_TO: readonly ApplyTo[] = ['queues', 'exchanges', 'all'];

/**
 * Checks a policy (from the CLI, the config, a definitions file or the HTTP API) as
 * rabbit_policy validates one; throws PolicyError with RabbitMQ's messages. `operator`
 * checks an operator policy, which allows fewer keys.
 */
export function validatePolicy(
  p: {
    vhost?: unknown;
    name?: unknown;
    pattern?: unknown;
    applyTo?: unknown;
    priority?: unknown;
    definition?: unknown;
  },
  operator = false,
): Policy {
  const vhost = p.vhost ?? '/';
  if (typeof vhost !== 'string') throw new PolicyError('vhost must be a string');
  if (typeof p.name !== 'string' || p.name === '') throw new PolicyError('a policy needs a name');
  // rabbit_runtime_parameters lists every error, the definition's first.
  const errors: string[] = [];
  const def = p.definition;
  if (def === null || typeof def !== 'object' || Array.isArray(def)) {
    errors.push(def === undefined ? `Key "definition" not found in ${p.name}` : `definition must be a dictionary: ${erlJson(def)}`);
  } else {
    const err = definitionError(def as Record<string, unknown>, operator);
    if (err !== null) errors.push(err);
  }
  const applyTo = p.applyTo ?? 'all';
  if (!APPLY_TO.includes(applyTo as ApplyTo)) {
    errors.push(`apply-to '${String(applyTo)}' unrecognised; should be 'queues', 'exchanges' or 'all'`);
  }
  if (typeof p.pattern !== 'string') {
    errors.push(p.pattern === undefined ? `Key "pattern" not found in ${p.name}` : `pattern should be a binary but was ${erlJson(p.pattern)}`);
  } else {
    try {
      new RegExp(p.pattern);
    } catch (err) {
      errors.push(`pattern should be regular expression but is invalid: ${(err as Error).message}`);
    }
  }
  const priority = p.priority ?? 0;
  if (typeof priority !== 'number') errors.push(`priority should be a number, actually was ${erlJson(priority)}`);
  if (errors.length > 0) throw new PolicyError(`Validation failed\n\n${errors.join('\n')}`);
  return {
    vhost,
    name: p.name,
    pattern: p.pattern as string,
    applyTo: applyTo as ApplyTo,
    priority: priority as number,
    definition: def as PolicyDefinition,
  };
}

/** The keys of a definition that Warren accepts but does not act on. */
export function inertKeys(d: PolicyDefinition): string[] {
  return Object.keys(d).filter((k) => !EFFECTIVE_POLICY_KEYS.has(k));
}

/** The policies of one vhost (or its operator policies), and which one applies to a queue or exchange. */
export class PolicySet {
  private readonly policies = new Map<string, { policy: Policy; re: RegExp }>();

  set(p: Policy): void {
    this.policies.set(p.name, { policy: p, re: new RegExp(p.pattern) });
  }

  clear(name: string): boolean {
    return this.policies.delete(name);
  }

  get(name: string): Policy | undefined {
    return this.policies.get(name)?.policy;
  }

  get size(): number {
    return this.policies.size;
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
    return bestPolicy(this.policies.values(), kind, name, applies === undefined ? undefined : (p) => applies(p.definition));
  }
}

/**
 * The definition in force for a queue or exchange: its policy's, with each key of its
 * operator policy merged in (the lower number wins, as rabbit_policy does), or null.
 */
export function effectiveDefinition(policy: Policy | null, operator: Policy | null): PolicyDefinition | null {
  if (operator === null) return policy?.definition ?? null;
  const out: PolicyDefinition = { ...(policy?.definition ?? {}) };
  for (const [k, v] of Object.entries(operator.definition)) out[k] = k in out ? mergePolicyValue(out[k], v) : v;
  return out;
}

