import type { Policy } from '../vhost/policy.js';
import type { VirtualHost } from '../vhost/vhost.js';

/**
 * Runtime parameters (rabbit_runtime_parameters): per-vhost values by component and name.
 * `vhost-limits` and `operator_policy` are built in (they live on the vhost as its limits
 * and operator policies); every other component is registered here, as a RabbitMQ plugin
 * registers its runtime_parameter module: shovels (`shovel`), federation
 * (`federation-upstream`, `federation-upstream-set`). The HTTP API, definitions import and
 * the control socket all set parameters through AccessControl.setParameter, so they all run
 * the same validation and hooks.
 */
export interface ParameterComponent {
  /**
   * Checks a value before it is stored: RabbitMQ's error texts (rabbit_parameter_validation's
   * words, such as `Key "uri" not found in shovel`), or nothing when it is valid. The
   * parameter is not stored if there is any error; the caller reports them all.
   */
  validate(vhost: string, name: string, value: unknown, user: string | null): readonly string[] | void;
  /** After a new or changed value was stored (RabbitMQ's notify): start or restart what it describes. */
  apply?(vhost: string, name: string, value: unknown, user: string | null): void;
  /** After the parameter was cleared, or its vhost deleted (notify_clear): stop it. */
  remove?(vhost: string, name: string): void;
}

/** A parameter as the HTTP API and definitions show it. */
export interface ParameterEntry {
  value: unknown;
  vhost: string;
  component: string;
  name: string;
}

/** The value an operator policy is stored under, as a parameter (component operator_policy or policy). */
export function policyValue(p: Policy): Record<string, unknown> {
  return { pattern: p.pattern, definition: { ...p.definition }, priority: p.priority, 'apply-to': p.applyTo };
}

/**
 * A vhost's parameters, as rabbit_runtime_parameters:list(VHost, Component) gives them: its
 * limits (`vhost-limits`/`limits`, when it has any), operator policies, and the rest.
 * Policies are parameters of component `policy` too, listed only when asked for by name.
 */
export function parametersOf(v: VirtualHost, component?: string): ParameterEntry[] {
  const out: ParameterEntry[] = [];
  const want = (c: string): boolean => (component === undefined ? c !== 'policy' : c === component);
  if (want('vhost-limits') && v.limitsParameter) {
    // An empty proplist is [] in RabbitMQ's JSON.
    const value = Object.keys(v.limits).length === 0 ? [] : { ...v.limits };
    out.push({ value, vhost: v.name, component: 'vhost-limits', name: 'limits' });
  }
  if (want('operator_policy')) {
    for (const p of v.operatorPolicies.list()) out.push({ value: policyValue(p), vhost: v.name, component: 'operator_policy', name: p.name });
  }
  if (want('policy')) {
    for (const p of v.policies.list()) out.push({ value: policyValue(p), vhost: v.name, component: 'policy', name: p.name });
  }
  for (const p of v.parameters.values()) {
    if (want(p.component)) out.push({ value: p.value, vhost: v.name, component: p.component, name: p.name });
  }
  return out;
}

/** One parameter, or undefined. */
export function parameterOf(v: VirtualHost, component: string, name: string): ParameterEntry | undefined {
  return parametersOf(v, component).find((p) => p.name === name);
}

/** rabbit_runtime_parameters:format_error: every error on a line of its own, after a heading. */
export function validationFailed(errors: readonly string[]): string {
  return `Validation failed\n\n${errors.map((e) => `${e}\n`).join('')}`;
}
