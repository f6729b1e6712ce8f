// Queues: one page of the list at a time (filtered, sorted and cut by the broker), and a
// form to add a queue.
import { useState } from 'preact/hooks';
import { get, put, seg } from '../api.js';
import { num, rate, statRate } from '../format.js';
import { ListControls, usePagedList } from '../list.js';
import { href } from '../router.js';
import { act, errorText, useSettings, usePoll, useVhostNames } from '../state.js';
import { ArgsEditor, argsToObject, Features, Section, Select, Table, Text, type ArgRow, type Column } from '../widgets.js';
import { State } from './connections.js';

export interface QueueJson {
  name: string;
  vhost: string;
  type?: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  arguments: Record<string, unknown>;
  state?: string;
  policy?: string | null;
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
  message_bytes?: number;
  memory?: number;
  consumers?: number;
  consumer_utilisation?: number | null;
  consumer_capacity?: number;
  message_stats?: Record<string, unknown>;
  idle_since?: string;
  exclusive_consumer_tag?: string | null;
  single_active_consumer_tag?: string | null;
  effective_policy_definition?: Record<string, unknown>;
  consumer_details?: {
    consumer_tag: string;
    channel_details?: { name: string; connection_name?: string };
    ack_required: boolean;
    exclusive: boolean;
    prefetch_count: number;
    active?: boolean;
    arguments?: Record<string, unknown>;
  }[];
}

export function QueuesPage() {
  const { vhost } = useSettings();
  const path = vhost === '' ? '/api/queues' : `/api/queues/${seg(vhost)}`;
  const [list, state, update] = usePagedList<QueueJson>(`queues:${vhost}`, path, { sort: 'name', reverse: false });
  const columns: Column<QueueJson>[] = [
    ...(vhost === '' ? [{ label: 'Virtual host', sort: 'vhost', render: (q: QueueJson) => q.vhost }] : []),
    { label: 'Name', sort: 'name', render: (q) => <a href={href('queues', q.vhost, q.name)}>{q.name}</a> },
    { label: 'Type', sort: 'type', render: (q) => q.type ?? '' },
    { label: 'Features', render: (q) => <Features durable={q.durable} autoDelete={q.auto_delete} exclusive={q.exclusive} args={q.arguments} policy={q.policy} /> },
    { label: 'State', sort: 'state', render: (q) => <State s={q.state} /> },
    { label: 'Ready', sort: 'messages_ready', num: true, render: (q) => num(q.messages_ready) },
    { label: 'Unacked', sort: 'messages_unacknowledged', num: true, render: (q) => num(q.messages_unacknowledged) },
    { label: 'Total', sort: 'messages', num: true, render: (q) => num(q.messages) },
    { label: 'Consumers', sort: 'consumers', num: true, render: (q) => num(q.consumers) },
    { label: 'Incoming', sort: 'message_stats.publish_details.rate', num: true, render: (q) => rate(statRate(q.message_stats, 'publish')) },
    { label: 'Deliver / get', sort: 'message_stats.deliver_get_details.rate', num: true, render: (q) => rate(statRate(q.message_stats, 'deliver_get')) },
    { label: 'Ack', sort: 'message_stats.ack_details.rate', num: true, render: (q) => rate(statRate(q.message_stats, 'ack')) },
  ];
  return (
    <div class="page">
      <h2>Queues</h2>
      <ListControls state={state} update={update} page={list.data} noun="queues" />
      <Table testId="queues" columns={columns} rows={list.data?.items} rowKey={(q) => `${q.vhost}\u0000${q.name}`} sort={state.sort} onSort={(sort) => update({ sort })} empty="No queues." />
      {list.error !== undefined && <p class="error">{errorText(list.error)}</p>}
      <Section title="Add a new queue" open={false} testId="add-queue">
        <AddQueue defaultVhost={vhost} onAdded={list.reload} />
      </Section>
    </div>
  );
}

const QUEUE_ARGS: [string, ArgRow['type']][] = [
  ['x-message-ttl', 'number'],
  ['x-expires', 'number'],
  ['x-max-length', 'number'],
  ['x-max-length-bytes', 'number'],
  ['x-overflow', 'string'],
  ['x-dead-letter-exchange', 'string'],
  ['x-dead-letter-routing-key', 'string'],
  ['x-single-active-consumer', 'boolean'],
  ['x-max-priority', 'number'],
  ['x-queue-mode', 'string'],
  ['x-delivery-limit', 'number'],
  ['x-max-age', 'string'],
];

function AddQueue(props: { defaultVhost: string; onAdded: () => void }) {
  const vhosts = useVhostNames();
  const [vhost, setVhost] = useState(props.defaultVhost || '/');
  const [type, setType] = useState('classic');
  const [name, setName] = useState('');
  const [durable, setDurable] = useState('true');
  const [autoDelete, setAutoDelete] = useState('false');
  const [args, setArgs] = useState<ArgRow[]>([]);
  const replicated = type !== 'classic';
  return (
    <form
      class="form"
      data-testid="add-queue-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await act(`Queue ${name} added.`, async () => {
          const a = argsToObject(args);
          if (type !== 'classic') a['x-queue-type'] = type;
          return put(`/api/queues/${seg(vhost)}/${seg(name)}`, {
            durable: replicated || durable === 'true',
            auto_delete: !replicated && autoDelete === 'true',
            arguments: a,
          });
        });
        if (ok) {
          setName('');
          props.onAdded();
        }
      }}
    >
      <Select label="Type" name="queue_type" value={type} onChange={setType} options={[['classic', 'Classic'], ['quorum', 'Quorum'], ['stream', 'Stream']]} />
      <Select label="Virtual host" name="vhost" value={vhost} onChange={setVhost} options={vhosts ?? [vhost]} />
      <Text label="Name" name="name" value={name} onInput={setName} required />
      {!replicated && (
        <>
          <Select label="Durability" name="durable" value={durable} onChange={setDurable} options={[['true', 'Durable'], ['false', 'Transient']]} />
          <Select label="Auto delete" name="auto_delete" value={autoDelete} onChange={setAutoDelete} options={[['false', 'No'], ['true', 'Yes']]} />
        </>
      )}
      <ArgsEditor label="Arguments" rows={args} onChange={setArgs} suggestions={QUEUE_ARGS} />
      <div class="buttons">
        <button type="submit" class="primary">
          Add queue
        </button>
      </div>
    </form>
  );
}
