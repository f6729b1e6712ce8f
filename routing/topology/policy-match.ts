// Which policy applies to a queue or an exchange, as RabbitMQ chooses: among the policies
// whose apply-to covers the kind and whose pattern (a regular expression) matches the
// name, the highest priority wins; on a tie, the first name in order. Shared by the
// broker's PolicySet and warren/routing's Topology (for `alternate-exchange`).

export type ApplyTo = 'queues' | 'exchanges' | 'all';

export interface PolicyLike {
  readonly name: string;
  readonly applyTo: ApplyTo;
  readonly priority: number;
}

export interface CompiledPolicy<P extends PolicyLike> {
  readonly policy: P;
  readonly re: RegExp;
}

/** `applies`: whether a policy suits the object at all (RabbitMQ skips one with a key the queue's type does not support, and looks further). */
export function bestPolicy<P extends PolicyLike>(
  policies: Iterable<CompiledPolicy<P>>,
  kind: 'queues' | 'exchanges',
  name: string,
  applies?: (p: P) => boolean,
): P | null {
  let best: P | null = null;
  for (const { policy, re } of policies) {
    if (policy.applyTo !== 'all' && policy.applyTo !== kind) continue;
    if (applies !== undefined && !applies(policy)) continue;
    if (!re.test(name)) continue;
    if (best === null || policy.priority > best.priority || (policy.priority === best.priority && policy.name < best.name)) {
      best = policy;
    }
  }
  return best;
}
