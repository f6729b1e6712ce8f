import { ApiStatusError, seg } from './api.js';
import { isNotFound, jsonArg, noSuchVhost, refused, type CommandSpec, type Ctx } from './spec.js';
import { CtlError, EXIT } from './transport.js';

/** Policies, operator policies and runtime parameters (vhost-scoped and global). */

function priorityArg(v: unknown): number {
  const n = Number(v ?? 0);
  if (!Number.isInteger(n)) throw new CtlError(`Bad argument: priority must be an integer, got ${String(v)}`, EXIT.dataerr);
  return n;
}

/** A PUT in a vhost: a missing vhost is rabbitmqctl's "does not exist". */
async function putInVhost(ctx: Ctx, path: string, body: unknown): Promise<void> {
  try {
    await ctx.api.put(path, body);
  } catch (err) {
    if (err instanceof ApiStatusError && err.status === 404) throw noSuchVhost(ctx.vhost);
    refused(err);
  }
}

/** A DELETE of a parameter-like object: a missing one is rabbitmqctl's "Parameter does not exist". */
async function deleteParameter(ctx: Ctx, path: string): Promise<void> {
  try {
    await ctx.api.delete(path);
  } catch (err) {
    if (isNotFound(err)) throw new CtlError('Parameter does not exist', EXIT.unavailable);
    refused(err);
  }
}

function policyCommand(kind: 'policy' | 'operator policy'): CommandSpec[] {
  const resource = kind === 'policy' ? 'policies' : 'operator-policies';
  const what = kind === 'policy' ? 'policy' : 'operator policy override';
  const verb = kind === 'policy' ? 'set_policy' : 'set_operator_policy';
  return [
    {
      name: verb,
      args: '<name> <pattern> <definition>',
      description:
        kind === 'policy'
          ? 'Sets or updates a policy; the definition is JSON, e.g. \'{"max-length": 1000}\''
          : 'Sets an operator policy that overrides a subset of arguments in user policies',
      options: [
        { flags: '--priority <priority>', description: 'priority (higher wins)', default: '0' },
        { flags: '--apply-to <apply-to>', description: 'queues, exchanges or all', default: 'all' },
      ],
      run: async (ctx, [name, pattern, definition]) => {
        const priority = priorityArg(ctx.opts['priority']);
        ctx.out.banner(`Setting ${what} "${name}" for pattern "${pattern}" to "${definition}" with priority "${priority}" for vhost "${ctx.vhost}" ...`);
        const def = jsonArg(definition!);
        await putInVhost(ctx, `/api/${resource}/${seg(ctx.vhost)}/${seg(name!)}`, {
          pattern,
          definition: def,
          priority,
          'apply-to': ctx.opts['applyTo'],
        });
      },
    },
    {
      name: kind === 'policy' ? 'clear_policy' : 'clear_operator_policy',
      args: '<name>',
      description: kind === 'policy' ? 'Clears (removes) a policy' : 'Clears an operator policy',
      run: async (ctx, [name]) => {
        ctx.out.banner(`Clearing ${kind} "${name}" on vhost "${ctx.vhost}" ...`);
        await deleteParameter(ctx, `/api/${resource}/${seg(ctx.vhost)}/${seg(name!)}`);
      },
    },
  ];
}

export const POLICY_COMMANDS: CommandSpec[] = [
  ...policyCommand('policy'),
  ...policyCommand('operator policy'),
  {
    name: 'set_parameter',
    args: '<component_name> <name> <value>',
    description: 'Sets a runtime parameter; the value is JSON (e.g. a shovel: warren ctl set_parameter shovel my-shovel \'{"src-uri": ...}\')',
    run: async (ctx, [component, name, value]) => {
      ctx.out.banner(`Setting runtime parameter "${name}" for component "${component}" to "${value}" in vhost "${ctx.vhost}" ...`);
      const v = jsonArg(value!);
      await putInVhost(ctx, `/api/parameters/${seg(component!)}/${seg(ctx.vhost)}/${seg(name!)}`, { component, vhost: ctx.vhost, name, value: v });
    },
  },
  {
    name: 'clear_parameter',
    args: '<component_name> <name>',
    description: 'Clears a runtime parameter',
    run: async (ctx, [component, name]) => {
      ctx.out.banner(`Clearing runtime parameter "${name}" for component "${component}" on vhost "${ctx.vhost}" ...`);
      await deleteParameter(ctx, `/api/parameters/${seg(component!)}/${seg(ctx.vhost)}/${seg(name!)}`);
    },
  },
  {
    name: 'set_global_parameter',
    args: '<name> <value>',
    description: 'Sets a global runtime parameter; the value is JSON',
    run: async (ctx, [name, value]) => {
      ctx.out.banner(`Setting global runtime parameter "${name}" to "${value}" ...`);
      const v = jsonArg(value!);
      try {
        await ctx.api.put(`/api/global-parameters/${seg(name!)}`, { name, value: v });
      } catch (err) {
        refused(err);
      }
    },
  },
  {
    name: 'clear_global_parameter',
    args: '<name>',
    description: 'Clears a global runtime parameter',
    run: async (ctx, [name]) => {
      ctx.out.banner(`Clearing global runtime parameter "${name}" ...`);
      await deleteParameter(ctx, `/api/global-parameters/${seg(name!)}`);
    },
  },
];
