import { ApiStatusError, seg } from './api.js';
import type { Column } from './output.js';
import { attempt, isNotFound, refused, type CommandSpec, type Ctx } from './spec.js';
import { CtlError, EXIT } from './transport.js';

/** Queues and connections (purge, delete, close), the node's status, waiting for it to start. */

type Obj = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const gb = (bytes: unknown): string => `${Math.round((num(bytes) / 1e9) * 10000) / 10000} gb`;

/** What rabbitmqctl status says each listener is for. */
const PURPOSE: Record<string, string> = {
  amqp: 'AMQP 0-9-1 and AMQP 1.0',
  'amqp/ssl': 'AMQP 0-9-1 and AMQP 1.0 over TLS',
  http: 'HTTP API',
  https: 'HTTP API over TLS (HTTPS)',
  'http/prometheus': 'Prometheus exporter API over HTTP',
  clustering: 'inter-node and CLI tool communication',
};

function iface(address: unknown): string {
  const a = String(address ?? '');
  return a.includes(':') ? `[${a}]` : a;
}

interface Status {
  node: string;
  overview: Obj;
  info: Obj;
  vhostCount: number;
}

async function gather(ctx: Ctx): Promise<Status> {
  const overview = await attempt(ctx.api.get<Obj>('/api/overview'));
  const node = String(overview['node'] ?? '');
  const info = (await attempt(ctx.api.find<Obj>(`/api/nodes/${seg(node)}`))) ?? {};
  const vhosts = await attempt(ctx.api.get<Obj[] | { total_count: number }>('/api/vhosts?page=1&page_size=1'));
  const vhostCount = Array.isArray(vhosts) ? vhosts.length : num(vhosts.total_count);
  return { node, overview, info, vhostCount };
}

function alarms(s: Status): string[] {
  const out: string[] = [];
  if (s.info['mem_alarm'] === true) out.push(`Memory alarm on node ${s.node}`);
  if (s.info['disk_free_alarm'] === true) out.push(`Free disk space alarm on node ${s.node}`);
  return out;
}

function listeners(s: Status): Obj[] {
  const list = (s.overview['listeners'] as Obj[] | undefined) ?? [];
  return list.map((l) => ({ interface: iface(l['ip_address']), node: l['node'], port: l['port'], protocol: l['protocol'], purpose: PURPOSE[String(l['protocol'])] ?? '' }));
}

function statusJson(s: Status): Obj {
  const totals = (s.overview['object_totals'] as Obj | undefined) ?? {};
  const i = s.info;
  return {
    pid: Number(i['os_pid'] ?? 0),
    uptime: Math.floor(num(i['uptime']) / 1000),
    rabbitmq_version: s.overview['rabbitmq_version'],
    product_name: s.overview['product_name'] ?? '',
    product_version: s.overview['product_version'] ?? '',
    erlang_version: s.overview['erlang_full_version'] ?? s.overview['erlang_version'] ?? '',
    active_plugins: i['enabled_plugins'] ?? [],
    config_files: i['config_files'] ?? [],
    log_files: i['log_files'] ?? [],
    data_directory: i['db_dir'] ?? '',
    alarms: alarms(s),
    listeners: listeners(s),
    processes: { limit: i['proc_total'], used: i['proc_used'] },
    run_queue: i['run_queue'],
    net_ticktime: i['net_ticktime'],
    memory: { total: { rss: i['mem_used'] } },
    vm_memory_calculation_strategy: i['mem_calculation_strategy'] ?? 'rss',
    vm_memory_high_watermark_limit: i['mem_limit'],
    file_descriptors: { sockets_limit: i['sockets_total'], sockets_used: i['sockets_used'], total_limit: i['fd_total'], total_used: i['fd_used'] },
    disk_free: i['disk_free'],
    disk_free_limit: i['disk_free_limit'],
    totals: { virtual_host_count: s.vhostCount, connection_count: totals['connections'], queue_count: totals['queues'] },
  };
}

/** rabbitmqctl status's report, with the sections the management API can fill. */
function statusText(s: Status): string {
  const i = s.info;
  const o = s.overview;
  const lines: string[] = [];
  const section = (title: string, body: string[]): void => {
    lines.push(title, '', ...body, '');
  };
  const product = o['product_name'] !== undefined && o['product_name'] !== '' && o['product_name'] !== 'RabbitMQ' ? [`Product name: ${String(o['product_name'])}`, `Product version: ${String(o['product_version'])}`] : [];
  section('Runtime', [
    ...(i['os_pid'] === undefined ? [] : [`OS PID: ${String(i['os_pid'])}`]),
    ...(i['uptime'] === undefined ? [] : [`Uptime (seconds): ${Math.floor(num(i['uptime']) / 1000)}`]),
    `RabbitMQ version: ${String(o['rabbitmq_version'] ?? '')}`,
    ...product,
    `Node name: ${s.node}`,
    ...(o['erlang_full_version'] === undefined ? [] : [`Erlang configuration: ${String(o['erlang_full_version'])}`]),
    ...(i['proc_used'] === undefined ? [] : [`Erlang processes: ${String(i['proc_used'])} used, ${String(i['proc_total'])} limit`]),
    ...(i['run_queue'] === undefined ? [] : [`Scheduler run queue: ${String(i['run_queue'])}`]),
  ]);
  const plugins = (i['enabled_plugins'] as string[] | undefined) ?? [];
  section('Plugins', ['Enabled plugins:', '', ...plugins.map((p) => ` * ${p}`)]);
  if (i['db_dir'] !== undefined) section('Data directory', [`Node data directory: ${String(i['db_dir'])}`]);
  const configs = (i['config_files'] as string[] | undefined) ?? [];
  if (configs.length > 0) section('Config files', configs.map((f) => ` * ${f}`));
  const logs = (i['log_files'] as string[] | undefined) ?? [];
  if (logs.length > 0) section('Log file(s)', logs.map((f) => ` * ${f}`));
  const a = alarms(s);
  section('Alarms', a.length === 0 ? ['(none)'] : a);
  section('Memory', [
    `Total memory used: ${gb(i['mem_used'])}`,
    `Calculation strategy: ${String(i['mem_calculation_strategy'] ?? 'rss')}`,
    `Memory high watermark setting: computed to: ${gb(i['mem_limit'])}`,
  ]);
  const pair = (label: string, used: unknown, limit: unknown): string[] =>
    used === undefined ? [] : [`${label}: ${String(used)}${limit === undefined ? '' : `, limit: ${String(limit)}`}`];
  section('File Descriptors', [...pair('Total', i['fd_used'], i['fd_total']), ...pair('Sockets', i['sockets_used'], i['sockets_total'])]);
  section('Free Disk Space', [`Low free disk space watermark: ${gb(i['disk_free_limit'])}`, `Free disk space: ${gb(i['disk_free'])}`]);
  const totals = (o['object_totals'] as Obj | undefined) ?? {};
  section('Totals', [`Connection count: ${num(totals['connections'])}`, `Queue count: ${num(totals['queues'])}`, `Virtual host count: ${s.vhostCount}`]);
  lines.push('Listeners', '', ...listeners(s).map((l) => `Interface: ${String(l['interface'])}, port: ${String(l['port'])}, protocol: ${String(l['protocol'])}, purpose: ${String(l['purpose'])}`));
  return lines.join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The API's `2026-12-02 8:42:32` as rabbitmqctl prints it: `2026-12-02 08:42:32`. */
function padTimestamp(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  return v.replace(/(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)/, (_m, ...p: string[]) => {
    const [y, mo, d, h, mi, se] = p;
    return `${y}-${mo!.padStart(2, '0')}-${d!.padStart(2, '0')} ${h!.padStart(2, '0')}:${mi!.padStart(2, '0')}:${se!.padStart(2, '0')}`;
  });
}

const SHOVEL_COLUMNS: Column[] = [
  { name: 'destination', kind: 'plain', get: (o) => o['dest_uri'] },
  { name: 'destination_protocol', kind: 'plain', get: (o) => o['dest_protocol'] },
  { name: 'last_changed', kind: 'plain', get: (o) => padTimestamp(o['timestamp']) },
  { name: 'name', kind: 'plain', get: (o) => o['name'] },
  { name: 'source', kind: 'plain', get: (o) => o['src_uri'] },
  { name: 'source_protocol', kind: 'plain', get: (o) => o['src_protocol'] },
  { name: 'state', kind: 'plain', get: (o) => o['state'] },
  { name: 'termination_reason', kind: 'plain', get: (o) => o['reason'] ?? '' },
  { name: 'type', kind: 'plain', get: (o) => o['type'] },
  { name: 'vhost', kind: 'plain', get: (o) => o['vhost'] },
];

export const NODE_COMMANDS: CommandSpec[] = [
  {
    name: 'purge_queue',
    args: '<queue>',
    description: 'Purges a queue (removes all messages in it)',
    run: async (ctx, [queue]) => {
      ctx.out.banner(`Purging queue '${queue}' in vhost '${ctx.vhost}' ...`);
      try {
        await ctx.api.delete(`/api/queues/${seg(ctx.vhost)}/${seg(queue!)}/contents`);
      } catch (err) {
        if (isNotFound(err)) throw new CtlError('Queue not found', EXIT.unavailable);
        refused(err);
      }
    },
  },
  {
    name: 'delete_queue',
    args: '<queue_name>',
    description: 'Deletes a queue',
    options: [
      { flags: '-e, --if-empty', description: 'delete the queue only if it is empty (has no messages ready for delivery)' },
      { flags: '-u, --if-unused', description: 'delete the queue only if it has no consumers' },
    ],
    run: async (ctx, [queue]) => {
      const ifEmpty = ctx.opts['ifEmpty'] === true;
      const ifUnused = ctx.opts['ifUnused'] === true;
      const conditions = [ifEmpty ? 'if queue is empty' : '', ifUnused ? 'if queue is unused' : ''].filter((c) => c !== '').join(' and ');
      ctx.out.banner(`Deleting queue '${queue}' on vhost '${ctx.vhost}' ${conditions === '' ? '' : conditions + ' '}...`);
      const path = `/api/queues/${seg(ctx.vhost)}/${seg(queue!)}`;
      // The API's DELETE does not say how many messages went: the queue's count just before.
      const q = await attempt(ctx.api.find<Obj>(path));
      if (q === undefined) throw new CtlError('Queue not found', EXIT.usage);
      const query = [ifEmpty ? 'if-empty=true' : '', ifUnused ? 'if-unused=true' : ''].filter((c) => c !== '').join('&');
      try {
        await ctx.api.delete(query === '' ? path : `${path}?${query}`);
      } catch (err) {
        if (isNotFound(err)) throw new CtlError('Queue not found', EXIT.usage);
        if (err instanceof ApiStatusError && err.status === 400) {
          if (/empty/.test(err.reason)) throw new CtlError('Queue is not empty', EXIT.usage);
          if (/use/.test(err.reason)) throw new CtlError('Queue is in use', EXIT.usage);
        }
        refused(err);
      }
      ctx.out.data(`Queue was successfully deleted with ${num(q['messages_ready'])} ready messages`);
    },
  },
  {
    name: 'close_connection',
    args: '<connection> <explanation>',
    description: 'Instructs the broker to close a connection, named as list_connections name shows it; the client sees 320 CONNECTION_FORCED with the explanation',
    run: async (ctx, [name, explanation]) => {
      ctx.out.banner(`Closing connection ${name}, reason: ${explanation}...`);
      try {
        await ctx.api.delete(`/api/connections/${seg(name!)}`, { 'x-reason': explanation! });
      } catch (err) {
        if (isNotFound(err)) throw new CtlError(`Connection '${name}' not found`, EXIT.unavailable);
        refused(err);
      }
    },
  },
  {
    name: 'status',
    description: 'Displays status of a node',
    run: async (ctx) => {
      const s = await gather(ctx);
      ctx.out.banner(`Status of node ${s.node} ...`);
      ctx.out.data(ctx.out.opts.formatter === 'json' ? JSON.stringify(statusJson(s)) : statusText(s));
    },
  },
  {
    name: 'await_startup',
    description: 'Waits for the broker to start and answer (up to --timeout seconds, 300 by default)',
    run: async (ctx) => {
      const deadline = Date.now() + ctx.timeoutMs;
      for (;;) {
        try {
          const res = await ctx.api.raw({ method: 'GET', path: '/api/overview' });
          if (res.status === 200) return;
          if (Date.now() >= deadline) throw new CtlError(`the broker answered ${res.status} to GET /api/overview`, EXIT.unavailable);
        } catch (err) {
          // Nothing listening yet (the broker is starting) is what this command waits out.
          if (!(err instanceof CtlError && err.unreached === 'connect') || Date.now() >= deadline) throw err;
          ctx.api.transport.close();
        }
        await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
      }
    },
  },
  {
    name: 'shovel_status',
    description: 'Displays status of Shovel on a node',
    run: async (ctx) => {
      const overview = await attempt(ctx.api.get<Obj>('/api/overview'));
      ctx.out.banner(`Shovel status on node ${String(overview['node'] ?? '')}`);
      const w = ctx.out.list(SHOVEL_COLUMNS, false);
      try {
        for await (const page of ctx.api.pages<Obj>('/api/shovels')) w.rows(page);
      } catch (err) {
        if (isNotFound(err)) throw new CtlError('this broker has no shovels (GET /api/shovels: 404)', EXIT.unavailable);
        throw err;
      }
      w.end();
    },
  },
];
