// Overview: totals, queued messages and message rates over time, the node (memory, disk,
// alarms) and the listeners.
import { get } from '../api.js';
import { Chart } from '../chart.js';
import { bytes, duration, num, statRate } from '../format.js';
import { errorText, history, record, usePoll } from '../state.js';
import { KV, Loading, Section, Table } from '../widgets.js';

export interface OverviewJson {
  object_totals?: Record<string, number>;
  queue_totals?: Record<string, number>;
  message_stats?: Record<string, unknown>;
  listeners?: { node: string; protocol: string; ip_address: string; port: number }[];
  node?: string;
  cluster_name?: string;
  product_name?: string;
  product_version?: string;
  management_version?: string;
  rabbitmq_version?: string;
  erlang_version?: string;
}

interface NodeJson {
  name: string;
  uptime?: number;
  mem_used?: number;
  mem_limit?: number;
  mem_alarm?: boolean;
  disk_free?: number;
  disk_free_limit?: number;
  disk_free_alarm?: boolean;
  fd_used?: number;
  fd_total?: number;
  sockets_used?: number;
  sockets_total?: number;
  proc_used?: number;
  proc_total?: number;
  processors?: number;
  run_queue?: number;
}

/** The message rates RabbitMQ's overview charts, by message_stats key. */
export const RATES: [string, string][] = [
  ['publish', 'Publish'],
  ['confirm', 'Publisher confirm'],
  ['deliver_get', 'Deliver / get'],
  ['redeliver', 'Redelivered'],
  ['ack', 'Consumer ack'],
  ['get_empty', 'Get (empty)'],
  ['return_unroutable', 'Unroutable (return)'],
  ['drop_unroutable', 'Unroutable (drop)'],
];
const RATE_LABELS = RATES.map(([, l]) => l);
export const LENGTHS: [string, string][] = [
  ['messages_ready', 'Ready'],
  ['messages_unacknowledged', 'Unacked'],
  ['messages', 'Total'],
];
const LENGTH_LABELS = LENGTHS.map(([, l]) => l);

export function Overview() {
  const ov = usePoll(
    () => get<OverviewJson>('/api/overview'),
    'overview',
    (o) => {
      record('overview.rates', RATES.map(([k]) => statRate(o.message_stats, k) ?? 0));
      record('overview.lengths', LENGTHS.map(([k]) => o.queue_totals?.[k] ?? 0));
    },
  );
  const nodes = usePoll(() => get<NodeJson[]>('/api/nodes'), 'nodes');
  const o = ov.data;
  if (o === undefined) return <Loading error={ov.error} what="the overview" />;
  const t = o.object_totals ?? {};
  const q = o.queue_totals ?? {};
  const alarms = (nodes.data ?? []).flatMap((n) => [
    ...(n.mem_alarm ? [`Memory alarm on ${n.name}: ${bytes(n.mem_used)} used, the limit is ${bytes(n.mem_limit)}. Publishers are blocked.`] : []),
    ...(n.disk_free_alarm ? [`Disk alarm on ${n.name}: ${bytes(n.disk_free)} free, the limit is ${bytes(n.disk_free_limit)}. Publishers are blocked.`] : []),
  ]);
  return (
    <div class="page" data-testid="overview">
      <h2>Overview</h2>
      {alarms.length > 0 && (
        <div class="alarm" data-testid="alarms">
          {alarms.map((a) => (
            <div key={a}>{a}</div>
          ))}
        </div>
      )}
      <div class="totals" data-testid="totals">
        {(
          [
            ['Connections', t.connections, '#/connections'],
            ['Channels', t.channels, '#/channels'],
            ['Exchanges', t.exchanges, '#/exchanges'],
            ['Queues', t.queues, '#/queues'],
            ['Consumers', t.consumers, undefined],
            ['Ready', q.messages_ready, undefined],
            ['Unacked', q.messages_unacknowledged, undefined],
            ['Total messages', q.messages, undefined],
          ] as [string, number | undefined, string | undefined][]
        ).map(([label, n, link]) => (
          <div class="total" key={label}>
            <div class="total-n">{link !== undefined ? <a href={link}>{num(n ?? 0)}</a> : num(n ?? 0)}</div>
            <div class="total-label">{label}</div>
          </div>
        ))}
      </div>
      <div class="charts">
        <Chart title="Queued messages" labels={LENGTH_LABELS} history={history('overview.lengths')} kind="count" testId="chart-lengths" />
        <Chart title="Message rates" labels={RATE_LABELS} history={history('overview.rates')} kind="rate" testId="chart-rates" />
      </div>
      <div class="columns">
        <Section title="Node">
          {(nodes.data ?? []).map((n) => (
            <KV
              key={n.name}
              rows={[
                ['Name', n.name],
                ['Uptime', duration(n.uptime)],
                ['Memory', n.mem_used !== undefined ? <Meter used={n.mem_used} limit={n.mem_limit} alarm={n.mem_alarm} fmt={bytes} label="high watermark" /> : undefined],
                ['Disk free', n.disk_free !== undefined ? <span class={n.disk_free_alarm ? 'error' : ''}>{bytes(n.disk_free)} <span class="muted">(limit {bytes(n.disk_free_limit)})</span></span> : undefined],
                ['File descriptors', n.fd_used !== undefined ? `${num(n.fd_used)} of ${num(n.fd_total)}` : undefined],
                ['Sockets', n.sockets_used !== undefined ? `${num(n.sockets_used)}${n.sockets_total !== undefined ? ` of ${num(n.sockets_total)}` : ''}` : undefined],
                ['Cores', num(n.processors)],
              ]}
            />
          ))}
          {nodes.error !== undefined && <p class="error">{errorText(nodes.error)}</p>}
        </Section>
        <Section title="Listeners">
          <Table
            testId="listeners"
            columns={[
              { label: 'Protocol', render: (l) => l.protocol },
              { label: 'Bound to', render: (l) => l.ip_address },
              { label: 'Port', render: (l) => String(l.port), num: true },
            ]}
            rows={o.listeners}
            rowKey={(l) => `${l.protocol}:${l.ip_address}:${l.port}`}
          />
        </Section>
        <Section title="Broker">
          <KV
            rows={[
              ['Product', `${o.product_name ?? ''} ${o.product_version ?? ''}`.trim()],
              ['Management version', o.management_version],
              ['RabbitMQ version', o.rabbitmq_version],
              ['Cluster name', o.cluster_name],
              ['Node', o.node],
              [o.product_name === 'RabbitMQ' ? 'Erlang' : 'Runtime', o.erlang_version],
            ]}
          />
        </Section>
      </div>
    </div>
  );
}

/** How full memory is, towards its high watermark. */
function Meter(props: { used: number; limit?: number; alarm?: boolean; fmt: (n: number) => string; label: string }) {
  const { used, limit } = props;
  const frac = limit === undefined || limit <= 0 ? 0 : Math.min(1, used / limit);
  return (
    <span class={`meter ${props.alarm ? 'alarmed' : ''}`}>
      <span class="meter-bar">
        <span style={{ width: `${Math.round(frac * 100)}%` }} />
      </span>
      {props.fmt(used)}
      {limit !== undefined && (
        <span class="muted">
          {' '}
          ({props.label} {props.fmt(limit)})
        </span>
      )}
    </span>
  );
}
