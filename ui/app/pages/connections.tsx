// Connections and channels: paged lists, a page for each, and closing a connection (the
// client sees 320 CONNECTION_FORCED with the reason given).
import { del, get, seg } from '../api.js';
import { bytes, num, rate, statRate, timestamp } from '../format.js';
import { ListControls, usePagedList } from '../list.js';
import { go, href } from '../router.js';
import { act, errorText, useSettings, usePoll } from '../state.js';
import { KV, Loading, ObjectTable, Section, Table, type Column } from '../widgets.js';

export interface ConnectionJson {
  name: string;
  user?: string;
  vhost?: string;
  state?: string;
  ssl?: boolean;
  protocol?: string;
  channels?: number;
  peer_host?: string;
  peer_port?: number;
  host?: string;
  port?: number;
  auth_mechanism?: string;
  timeout?: number;
  frame_max?: number;
  channel_max?: number;
  connected_at?: number;
  node?: string;
  client_properties?: Record<string, unknown>;
  recv_oct?: number;
  send_oct?: number;
  recv_oct_details?: { rate: number };
  send_oct_details?: { rate: number };
}

export interface ChannelJson {
  name: string;
  number?: number;
  vhost?: string;
  user?: string;
  state?: string;
  confirm?: boolean;
  transactional?: boolean;
  prefetch_count?: number;
  global_prefetch_count?: number;
  messages_unacknowledged?: number;
  messages_unconfirmed?: number;
  messages_uncommitted?: number;
  consumer_count?: number;
  connection_details?: { name: string; peer_host?: string; peer_port?: number };
  message_stats?: Record<string, unknown>;
  consumer_details?: { consumer_tag: string; queue: { name: string; vhost: string }; ack_required: boolean; exclusive: boolean; prefetch_count: number }[];
}

function vhostPath(base: string, vhost: string, vhostPart: string): string {
  return vhost === '' ? `/api/${base}` : `/api/vhosts/${seg(vhost)}/${vhostPart}`;
}

export function ConnectionsPage() {
  const { vhost } = useSettings();
  const [list, state, update] = usePagedList<ConnectionJson>(`connections:${vhost}`, vhostPath('connections', vhost, 'connections'), { sort: 'name', reverse: false });
  const columns: Column<ConnectionJson>[] = [
    { label: 'Name', sort: 'name', render: (c) => <a href={href('connections', c.name)}>{c.name}</a> },
    { label: 'User', sort: 'user', render: (c) => c.user },
    ...(vhost === '' ? [{ label: 'Virtual host', sort: 'vhost', render: (c: ConnectionJson) => c.vhost }] : []),
    { label: 'Client', render: (c) => clientName(c) },
    { label: 'State', sort: 'state', render: (c) => <State s={c.state} /> },
    { label: 'TLS', sort: 'ssl', render: (c) => (c.ssl ? '●' : '○') },
    { label: 'Protocol', sort: 'protocol', render: (c) => c.protocol },
    { label: 'Channels', sort: 'channels', num: true, render: (c) => num(c.channels) },
    { label: 'From client', sort: 'recv_oct_details.rate', num: true, render: (c) => bytesRate(c.recv_oct_details?.rate) },
    { label: 'To client', sort: 'send_oct_details.rate', num: true, render: (c) => bytesRate(c.send_oct_details?.rate) },
    { label: '', render: (c) => <CloseButton name={c.name} onClosed={list.reload} small /> },
  ];
  return (
    <div class="page">
      <h2>Connections</h2>
      <ListControls state={state} update={update} page={list.data} noun="connections" />
      <Table testId="connections" columns={columns} rows={list.data?.items} rowKey={(c) => c.name} sort={state.sort} onSort={(sort) => update({ sort })} empty="No connections." />
      {list.error !== undefined && <p class="error">{errorText(list.error)}</p>}
    </div>
  );
}

function clientName(c: ConnectionJson): string {
  const p = c.client_properties ?? {};
  const named = typeof p.connection_name === 'string' ? `${p.connection_name} · ` : '';
  const product = [p.product, p.version].filter((x) => typeof x === 'string').join(' ');
  return `${named}${product}`;
}

function bytesRate(r: number | undefined): string {
  return r === undefined ? '' : `${bytes(r)}/s`;
}

export function State({ s }: { s: string | undefined }) {
  if (s === undefined) return null;
  return <span class={`state state-${s}`}>{s}</span>;
}

function CloseButton(props: { name: string; onClosed: () => void; small?: boolean }) {
  return (
    <button
      type="button"
      class={`danger ${props.small ? 'small' : ''}`}
      data-testid="close-connection"
      title="Force this connection closed"
      onClick={async () => {
        const reason = prompt(`Close connection ${props.name}?\nReason sent to the client:`, 'Closed via management plugin');
        if (reason === null) return;
        if (await act(`Connection ${props.name} closed`, () => del(`/api/connections/${seg(props.name)}`, { 'X-Reason': reason }))) props.onClosed();
      }}
    >
      Close
    </button>
  );
}

export function ConnectionPage({ name }: { name: string }) {
  const c = usePoll(() => get<ConnectionJson>(`/api/connections/${seg(name)}`), `connection:${name}`);
  const chans = usePoll(() => get<ChannelJson[]>(`/api/connections/${seg(name)}/channels`), `connection-channels:${name}`);
  if (c.data === undefined) return <Loading error={c.error} what={`connection ${name}`} />;
  const d = c.data;
  return (
    <div class="page">
      <h2>
        Connection <span class="name">{name}</span>
      </h2>
      <div class="actions">
        <CloseButton name={name} onClosed={() => go('connections')} />
      </div>
      <div class="columns">
        <Section title="Details">
          <KV
            rows={[
              ['User', d.user],
              ['Virtual host', d.vhost],
              ['State', <State s={d.state} />],
              ['Protocol', d.protocol],
              ['TLS', d.ssl === undefined ? undefined : d.ssl ? 'yes' : 'no'],
              ['Authentication', d.auth_mechanism],
              ['Client address', d.peer_host !== undefined ? `${d.peer_host}:${d.peer_port}` : undefined],
              ['Server address', d.host !== undefined ? `${d.host}:${d.port}` : undefined],
              ['Connected at', timestamp(d.connected_at)],
              ['Heartbeat', d.timeout !== undefined ? `${d.timeout}s` : undefined],
              ['Frame max', d.frame_max !== undefined ? `${num(d.frame_max)} bytes` : undefined],
              ['Channel max', num(d.channel_max)],
              ['Received', d.recv_oct !== undefined ? `${bytes(d.recv_oct)} (${bytesRate(d.recv_oct_details?.rate)})` : undefined],
              ['Sent', d.send_oct !== undefined ? `${bytes(d.send_oct)} (${bytesRate(d.send_oct_details?.rate)})` : undefined],
            ]}
          />
        </Section>
        <Section title="Client properties">
          <ObjectTable obj={d.client_properties} />
        </Section>
      </div>
      <Section title="Channels">
        <ChannelTable rows={chans.data} />
      </Section>
    </div>
  );
}

function channelColumns(withVhost: boolean): Column<ChannelJson>[] {
  return [
    { label: 'Channel', sort: 'name', render: (c) => <a href={href('channels', c.name)}>{c.name}</a> },
    ...(withVhost ? [{ label: 'Virtual host', sort: 'vhost', render: (c: ChannelJson) => c.vhost }] : []),
    { label: 'User', sort: 'user', render: (c) => c.user },
    { label: 'Mode', render: (c) => <Mode c={c} /> },
    { label: 'State', sort: 'state', render: (c) => <State s={c.state} /> },
    { label: 'Consumers', sort: 'consumer_count', num: true, render: (c) => num(c.consumer_count) },
    { label: 'Prefetch', sort: 'prefetch_count', num: true, render: (c) => num(c.prefetch_count) },
    { label: 'Unacked', sort: 'messages_unacknowledged', num: true, render: (c) => num(c.messages_unacknowledged) },
    { label: 'Unconfirmed', sort: 'messages_unconfirmed', num: true, render: (c) => num(c.messages_unconfirmed) },
    { label: 'Publish', sort: 'message_stats.publish_details.rate', num: true, render: (c) => rate(statRate(c.message_stats, 'publish')) },
    { label: 'Confirm', sort: 'message_stats.confirm_details.rate', num: true, render: (c) => rate(statRate(c.message_stats, 'confirm')) },
    { label: 'Deliver / get', sort: 'message_stats.deliver_get_details.rate', num: true, render: (c) => rate(statRate(c.message_stats, 'deliver_get')) },
    { label: 'Ack', sort: 'message_stats.ack_details.rate', num: true, render: (c) => rate(statRate(c.message_stats, 'ack')) },
  ];
}

function Mode({ c }: { c: ChannelJson }) {
  return (
    <span class="features">
      {c.confirm && (
        <abbr class="chip" title="publisher confirms">
          C
        </abbr>
      )}
      {c.transactional && (
        <abbr class="chip" title="transactional">
          T
        </abbr>
      )}
    </span>
  );
}

function ChannelTable({ rows }: { rows: ChannelJson[] | undefined }) {
  return <Table columns={channelColumns(false)} rows={rows} rowKey={(c) => c.name} empty="No channels." />;
}

export function ChannelsPage() {
  const { vhost } = useSettings();
  const [list, state, update] = usePagedList<ChannelJson>(`channels:${vhost}`, vhostPath('channels', vhost, 'channels'), { sort: 'name', reverse: false });
  return (
    <div class="page">
      <h2>Channels</h2>
      <ListControls state={state} update={update} page={list.data} noun="channels" />
      <Table testId="channels" columns={channelColumns(vhost === '')} rows={list.data?.items} rowKey={(c) => c.name} sort={state.sort} onSort={(sort) => update({ sort })} empty="No channels." />
      {list.error !== undefined && <p class="error">{errorText(list.error)}</p>}
    </div>
  );
}

export function ChannelPage({ name }: { name: string }) {
  const c = usePoll(() => get<ChannelJson>(`/api/channels/${seg(name)}`), `channel:${name}`);
  if (c.data === undefined) return <Loading error={c.error} what={`channel ${name}`} />;
  const d = c.data;
  const conn = d.connection_details?.name;
  return (
    <div class="page">
      <h2>
        Channel <span class="name">{name}</span>
      </h2>
      <div class="actions">
        {conn !== undefined && (
          <>
            <a href={href('connections', conn)}>Its connection</a> <CloseButton name={conn} onClosed={() => go('channels')} />
            <span class="muted"> AMQP has no way to close one channel from the server without an error; this closes its connection.</span>
          </>
        )}
      </div>
      <div class="columns">
        <Section title="Details">
          <KV
            rows={[
              ['Connection', conn !== undefined ? <a href={href('connections', conn)}>{conn}</a> : undefined],
              ['Number', num(d.number)],
              ['User', d.user],
              ['Virtual host', d.vhost],
              ['State', <State s={d.state} />],
              ['Mode', d.confirm ? 'confirm' : d.transactional ? 'transactional' : 'plain'],
              ['Prefetch (consumer)', num(d.prefetch_count)],
              ['Prefetch (channel)', num(d.global_prefetch_count)],
              ['Unacked', num(d.messages_unacknowledged)],
              ['Unconfirmed', num(d.messages_unconfirmed)],
              ['Uncommitted', num(d.messages_uncommitted)],
            ]}
          />
        </Section>
        <Section title="Message rates">
          <KV
            rows={[
              ['Publish', rate(statRate(d.message_stats, 'publish'))],
              ['Confirm', rate(statRate(d.message_stats, 'confirm'))],
              ['Deliver / get', rate(statRate(d.message_stats, 'deliver_get'))],
              ['Redelivered', rate(statRate(d.message_stats, 'redeliver'))],
              ['Ack', rate(statRate(d.message_stats, 'ack'))],
            ]}
          />
        </Section>
      </div>
      <Section title="Consumers">
        <Table
          columns={[
            { label: 'Queue', render: (k) => <a href={href('queues', k.queue.vhost, k.queue.name)}>{k.queue.name}</a> },
            { label: 'Consumer tag', render: (k) => k.consumer_tag },
            { label: 'Ack required', render: (k) => (k.ack_required ? 'yes' : 'no') },
            { label: 'Exclusive', render: (k) => (k.exclusive ? 'yes' : 'no') },
            { label: 'Prefetch', num: true, render: (k) => num(k.prefetch_count) },
          ]}
          rows={d.consumer_details ?? []}
          rowKey={(k) => k.consumer_tag}
          empty="No consumers."
        />
      </Section>
    </div>
  );
}
