import { seg } from './api.js';
import {
  BINDING_COLUMNS,
  CHANNEL_COLUMNS,
  CONNECTION_COLUMNS,
  CONSUMER_COLUMNS,
  EXCHANGE_COLUMNS,
  GLOBAL_PARAMETER_COLUMNS,
  PARAMETER_COLUMNS,
  PERMISSION_COLUMNS,
  pickColumns,
  POLICY_COLUMNS,
  QUEUE_COLUMNS,
  TOPIC_PERMISSION_COLUMNS,
  USER_COLUMNS,
  USER_LIMIT_COLUMNS,
  USER_PERMISSION_COLUMNS,
  USER_TOPIC_PERMISSION_COLUMNS,
  VHOST_COLUMNS,
  VHOST_LIMIT_COLUMNS,
  limitsValue,
  type ColumnSet,
} from './columns.js';
import type { Column } from './output.js';
import { isNotFound, noSuchUser, noSuchVhost, type CommandSpec, type Ctx } from './spec.js';

type Obj = Record<string, unknown>;

interface Listing {
  banner: string | string[];
  path: string;
  columns: Column[];
  /** The API's sort key, so that pages follow one another (RabbitMQ pages in that order). */
  sort?: string;
  /** rabbitmqctl prints an empty line (JSON `[]`) for an empty list of these. */
  blank?: boolean;
  /** What a 404 means: the vhost or user named is missing, or (streamed lists) nothing to list. */
  missing?: () => Error | null;
  filter?: (o: Obj) => boolean;
  /** The fields `filter` reads. */
  filterFields?: string[];
  header?: boolean;
}

/** The API fields a listing needs, when every column says which (else all of them). */
function fieldsFor(l: Listing): string[] | undefined {
  if (l.columns.some((c) => c.fields === undefined)) return undefined;
  const all = new Set<string>([...l.columns.flatMap((c) => c.fields!), ...(l.filterFields ?? [])]);
  if (l.sort !== undefined) all.add(l.sort);
  return [...all];
}

/** Lists page by page, printing each as it arrives. */
async function list(ctx: Ctx, l: Listing): Promise<void> {
  for (const b of Array.isArray(l.banner) ? l.banner : [l.banner]) ctx.out.banner(b);
  const w = ctx.out.list(l.columns, l.blank === true, l.header ?? true);
  try {
    for await (const page of ctx.api.pages<Obj>(l.path, l.sort, fieldsFor(l))) w.rows(l.filter === undefined ? page : page.filter(l.filter));
  } catch (err) {
    if (!isNotFound(err) || l.missing === undefined) throw err;
    const e = l.missing();
    if (e !== null) throw e;
  }
  w.end();
}

const columnsArg = (cs: ColumnSet): Pick<CommandSpec, 'args' | 'columns'> => ({ args: '[column...]', columns: cs.all.map((c) => c.name) });

const vhostPath = (base: string, ctx: Ctx): string => `/api/${base}/${seg(ctx.vhost)}`;

export const LIST_COMMANDS: CommandSpec[] = [
  {
    name: 'list_queues',
    description: 'Lists queues and their properties',
    ...columnsArg(QUEUE_COLUMNS),
    options: [
      { flags: '--online', description: 'lists only queues on online (reachable) nodes' },
      { flags: '--offline', description: 'lists only queues on offline (unreachable) nodes (none: Warren is one node)' },
      { flags: '--local', description: 'only return queues hosted on the target node' },
    ],
    run: (ctx, _args, cols) =>
      list(ctx, {
        banner: [`Timeout: ${(ctx.timeoutMs / 1000).toFixed(1)} seconds ...`, `Listing queues for vhost ${ctx.vhost} ...`],
        path: vhostPath('queues', ctx),
        sort: 'name',
        columns: pickColumns(QUEUE_COLUMNS, cols),
        missing: () => null,
        filter: ctx.opts['offline'] === true ? () => false : undefined,
      }),
  },
  {
    name: 'list_exchanges',
    description: 'Lists exchanges',
    ...columnsArg(EXCHANGE_COLUMNS),
    run: (ctx, _args, cols) =>
      list(ctx, {
        banner: `Listing exchanges for vhost ${ctx.vhost} ...`,
        path: vhostPath('exchanges', ctx),
        sort: 'name',
        columns: pickColumns(EXCHANGE_COLUMNS, cols),
        missing: () => null,
      }),
  },
  {
    name: 'list_bindings',
    description: 'Lists all bindings on a vhost',
    ...columnsArg(BINDING_COLUMNS),
    run: (ctx, _args, cols) =>
      list(ctx, {
        banner: `Listing bindings for vhost ${ctx.vhost}...`,
        path: vhostPath('bindings', ctx),
        columns: pickColumns(BINDING_COLUMNS, cols),
        missing: () => null,
      }),
  },
  {
    name: 'list_connections',
    description: 'Lists AMQP 0.9.1 connections for the node',
    ...columnsArg(CONNECTION_COLUMNS),
    run: (ctx, _args, cols) =>
      list(ctx, {
        banner: 'Listing connections ...',
        path: '/api/connections',
        sort: 'name',
        columns: pickColumns(CONNECTION_COLUMNS, cols),
        // The API also lists a node's internal ("direct") connections; rabbitmqctl does not.
        filter: (c) => c['type'] !== 'direct',
        filterFields: ['type'],
      }),
  },
  {
    name: 'list_channels',
    description: 'Lists all channels in the node',
    ...columnsArg(CHANNEL_COLUMNS),
    run: (ctx, _args, cols) =>
      list(ctx, { banner: 'Listing channels ...', path: '/api/channels', sort: 'name', columns: pickColumns(CHANNEL_COLUMNS, cols) }),
  },
  {
    name: 'list_consumers',
    description: 'Lists all consumers for a vhost',
    ...columnsArg(CONSUMER_COLUMNS),
    run: (ctx, _args, cols) =>
      list(ctx, {
        banner: `Listing consumers in vhost ${ctx.vhost} ...`,
        path: vhostPath('consumers', ctx),
        columns: pickColumns(CONSUMER_COLUMNS, cols),
        missing: () => null,
      }),
  },
  {
    name: 'list_users',
    description: 'List user names and tags',
    run: (ctx) => list(ctx, { banner: 'Listing users ...', path: '/api/users', sort: 'name', columns: USER_COLUMNS }),
  },
  {
    name: 'list_vhosts',
    description: 'Lists virtual hosts',
    ...columnsArg(VHOST_COLUMNS),
    run: (ctx, _args, cols) =>
      list(ctx, { banner: 'Listing vhosts ...', path: '/api/vhosts', sort: 'name', columns: pickColumns(VHOST_COLUMNS, cols) }),
  },
  {
    name: 'list_permissions',
    description: 'Lists user permissions in a virtual host',
    run: (ctx) =>
      list(ctx, {
        banner: `Listing permissions for vhost "${ctx.vhost}" ...`,
        path: `/api/vhosts/${seg(ctx.vhost)}/permissions`,
        columns: PERMISSION_COLUMNS,
        blank: true,
        missing: () => noSuchVhost(ctx.vhost),
      }),
  },
  {
    name: 'list_user_permissions',
    args: '<username>',
    description: 'Lists permissions of a user across all virtual hosts',
    run: (ctx, [user]) =>
      list(ctx, {
        banner: `Listing permissions for user "${user}" ...`,
        path: `/api/users/${seg(user!)}/permissions`,
        columns: USER_PERMISSION_COLUMNS,
        blank: true,
        missing: () => noSuchUser(user!),
      }),
  },
  {
    name: 'list_topic_permissions',
    description: 'Lists topic permissions in a virtual host',
    run: (ctx) =>
      list(ctx, {
        banner: `Listing topic permissions for vhost "${ctx.vhost}" ...`,
        path: `/api/vhosts/${seg(ctx.vhost)}/topic-permissions`,
        columns: TOPIC_PERMISSION_COLUMNS,
        blank: true,
        missing: () => noSuchVhost(ctx.vhost),
      }),
  },
  {
    name: 'list_user_topic_permissions',
    args: '<username>',
    description: 'Lists user topic permissions',
    run: (ctx, [user]) =>
      list(ctx, {
        banner: `Listing topic permissions for user "${user}" ...`,
        path: `/api/users/${seg(user!)}/topic-permissions`,
        columns: USER_TOPIC_PERMISSION_COLUMNS,
        blank: true,
        header: false,
        missing: () => noSuchUser(user!),
      }),
  },
  {
    name: 'list_policies',
    description: 'Lists all policies in a virtual host',
    run: (ctx) =>
      list(ctx, {
        banner: `Listing policies for vhost "${ctx.vhost}" ...`,
        path: vhostPath('policies', ctx),
        columns: POLICY_COLUMNS,
        blank: true,
        missing: () => noSuchVhost(ctx.vhost),
      }),
  },
  {
    name: 'list_operator_policies',
    description: 'Lists operator policy overrides for a virtual host',
    run: (ctx) =>
      list(ctx, {
        banner: `Listing operator policy overrides for vhost "${ctx.vhost}" ...`,
        path: vhostPath('operator-policies', ctx),
        columns: POLICY_COLUMNS,
        blank: true,
        missing: () => noSuchVhost(ctx.vhost),
      }),
  },
  {
    name: 'list_parameters',
    description: 'Lists runtime parameters for a virtual host',
    run: async (ctx) => {
      // GET /api/parameters lists every vhost's: check that this one exists, as rabbitmqctl does.
      ctx.out.banner(`Listing runtime parameters for vhost "${ctx.vhost}" ...`);
      if ((await ctx.api.find(`/api/vhosts/${seg(ctx.vhost)}`)) === undefined) throw noSuchVhost(ctx.vhost);
      await list(ctx, { banner: [], path: '/api/parameters', columns: PARAMETER_COLUMNS, blank: true, filter: (p) => p['vhost'] === ctx.vhost });
    },
  },
  {
    name: 'list_global_parameters',
    description: 'Lists global runtime parameters',
    run: (ctx) => list(ctx, { banner: 'Listing global runtime parameters ...', path: '/api/global-parameters', columns: GLOBAL_PARAMETER_COLUMNS, blank: true }),
  },
  {
    name: 'list_vhost_limits',
    description: 'Displays configured virtual host limits',
    options: [{ flags: '--global', description: 'list limits of every vhost' }],
    run: async (ctx) => {
      if (ctx.opts['global'] === true) {
        return list(ctx, { banner: 'Listing limits for all vhosts ...', path: '/api/vhost-limits', columns: VHOST_LIMIT_COLUMNS, blank: true });
      }
      ctx.out.banner(`Listing limits for vhost "${ctx.vhost}" ...`);
      const limits = await ctx.api.find<{ value: unknown }[]>(`/api/vhost-limits/${seg(ctx.vhost)}`);
      if (limits === undefined) throw noSuchVhost(ctx.vhost);
      const value = limitsValue(limits[0]?.value);
      const text = Object.keys(value as object).length === 0 ? '' : JSON.stringify(value);
      ctx.out.data(ctx.out.opts.formatter === 'json' ? JSON.stringify({ result: 'ok', value: text }) : text);
    },
  },
  {
    name: 'list_user_limits',
    description: 'Displays configured user limits',
    options: [
      { flags: '--user <username>', description: 'the user whose limits to show', default: 'guest' },
      { flags: '--global', description: 'list limits of every user that has some' },
    ],
    run: async (ctx) => {
      if (ctx.opts['global'] === true) {
        return list(ctx, { banner: 'Listing limits for all users ...', path: '/api/user-limits', columns: USER_LIMIT_COLUMNS, blank: true });
      }
      const user = String(ctx.opts['user']);
      ctx.out.banner(`Listing limits for user "${user}" ...`);
      if ((await ctx.api.find(`/api/users/${seg(user)}`)) === undefined) throw noSuchUser(user);
      const limits = await ctx.api.get<{ value: unknown }[]>(`/api/user-limits/${seg(user)}`);
      const text = JSON.stringify(limitsValue(limits[0]?.value));
      ctx.out.data(ctx.out.opts.formatter === 'json' ? JSON.stringify({ message: text }) : text);
    },
  },
];

