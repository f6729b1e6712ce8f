// One queue: its figures and charts, consumers, bindings, publishing into it, getting
// messages, purge and delete.
import { useState } from 'preact/hooks';
import { del, get, query, seg } from '../api.js';
import { Chart } from '../chart.js';
import { bytes, num, rate, statRate, timestamp, value } from '../format.js';
import { go, href } from '../router.js';
import { act, history, record, usePoll } from '../state.js';
import { Check, ConfirmButton, Features, KV, Loading, ObjectTable, Section, Table } from '../widgets.js';
import { State } from './connections.js';
import { AddBinding, Bindings, GetMessages, PublishForm, type BindingJson } from './messages.js';
import { LENGTHS } from './overview.js';
import type { QueueJson } from './queues.js';

const QUEUE_RATES: [string, string][] = [
  ['publish', 'Publish'],
  ['deliver_get', 'Deliver / get'],
  ['redeliver', 'Redelivered'],
  ['ack', 'Consumer ack'],
];

export function QueuePage({ vhost, name }: { vhost: string; name: string }) {
  const path = `/api/queues/${seg(vhost)}/${seg(name)}`;
  const hid = `queue:${vhost}:${name}`;
  const q = usePoll(
    () => get<QueueJson>(path),
    hid,
    (d) => {
      record(`${hid}.lengths`, LENGTHS.map(([k]) => (d[k as keyof QueueJson] as number | undefined) ?? 0));
      record(`${hid}.rates`, QUEUE_RATES.map(([k]) => statRate(d.message_stats, k) ?? 0));
    },
  );
  const bindings = usePoll(() => get<BindingJson[]>(`${path}/bindings`), `qb:${vhost}:${name}`);
  const [ifUnused, setIfUnused] = useState(false);
  const [ifEmpty, setIfEmpty] = useState(false);
  if (q.data === undefined) return <Loading error={q.error} what={`queue ${name}`} />;
  const d = q.data;
  const policyDef = d.effective_policy_definition ?? {};
  return (
    <div class="page" data-testid="queue-page">
      <h2>
        Queue <span class="name">{name}</span> <span class="muted">in virtual host {vhost}</span>
      </h2>
      <div class="totals small" data-testid="queue-totals">
        {(
          [
            ['Ready', d.messages_ready],
            ['Unacked', d.messages_unacknowledged],
            ['Total', d.messages],
            ['Consumers', d.consumers],
          ] as [string, number | undefined][]
        ).map(([label, n]) => (
          <div class="total" key={label}>
            <div class="total-n" data-testid={`queue-${label.toLowerCase()}`}>
              {num(n ?? 0)}
            </div>
            <div class="total-label">{label}</div>
          </div>
        ))}
      </div>
      <div class="charts">
        <Chart title="Queued messages" labels={LENGTHS.map(([, l]) => l)} history={history(`${hid}.lengths`)} kind="count" />
        <Chart title="Message rates" labels={QUEUE_RATES.map(([, l]) => l)} history={history(`${hid}.rates`)} kind="rate" testId="queue-chart-rates" />
      </div>
      <div class="columns">
        <Section title="Details">
          <KV
            rows={[
              ['Type', d.type],
              ['Features', <Features durable={d.durable} autoDelete={d.auto_delete} exclusive={d.exclusive} args={d.arguments} />],
              ['State', <State s={d.state} />],
              ['Policy', d.policy ?? ''],
              ['Message bytes', bytes(d.message_bytes)],
              ['Memory', bytes(d.memory)],
              ['Consumer capacity', d.consumer_capacity !== undefined ? `${Math.round(d.consumer_capacity * 100)}%` : undefined],
              ['Exclusive consumer', d.exclusive_consumer_tag ?? ''],
              ['Single active consumer', d.single_active_consumer_tag ?? ''],
              ['Idle since', timestamp(d.idle_since === undefined ? undefined : Date.parse(d.idle_since) || d.idle_since)],
            ]}
          />
        </Section>
        <Section title="Arguments and policy">
          <KV
            rows={[
              ['Arguments', <ObjectTable obj={d.arguments} />],
              ['Effective policy', Object.keys(policyDef).length > 0 ? Object.entries(policyDef).map(([k, v]) => `${k}: ${value(v)}`).join(', ') : ''],
              ['Incoming', rate(statRate(d.message_stats, 'publish'))],
              ['Deliver / get', rate(statRate(d.message_stats, 'deliver_get'))],
              ['Ack', rate(statRate(d.message_stats, 'ack'))],
            ]}
          />
        </Section>
      </div>
      <Section title={`Consumers (${num(d.consumers ?? 0)})`} open={(d.consumers ?? 0) > 0}>
        <Table
          testId="consumers"
          columns={[
            { label: 'Channel', render: (c) => (c.channel_details !== undefined ? <a href={href('channels', c.channel_details.name)}>{c.channel_details.name}</a> : '') },
            { label: 'Consumer tag', render: (c) => c.consumer_tag },
            { label: 'Ack required', render: (c) => (c.ack_required ? '●' : '○') },
            { label: 'Exclusive', render: (c) => (c.exclusive ? '●' : '○') },
            { label: 'Prefetch', num: true, render: (c) => num(c.prefetch_count) },
            { label: 'Active', render: (c) => (c.active === false ? '○' : '●') },
            { label: 'Arguments', render: (c) => Object.entries(c.arguments ?? {}).map(([k, v]) => `${k}: ${value(v)}`).join(', ') },
          ]}
          rows={d.consumer_details ?? []}
          rowKey={(c) => `${c.channel_details?.name ?? ''}\u0000${c.consumer_tag}`}
          empty="No consumers."
        />
      </Section>
      <Section title="Bindings" testId="queue-bindings">
        <Bindings vhost={vhost} rows={bindings.data} side="destination" reload={bindings.reload} testId="bindings" />
        <h4>Add a binding to this queue</h4>
        <AddBinding vhost={vhost} queue={name} onAdded={bindings.reload} />
      </Section>
      <Section title="Publish message" open={false} testId="publish">
        <p class="muted">The message goes through the default exchange, with the queue's name as its routing key.</p>
        <PublishForm vhost={vhost} exchange="" routingKey={name} onPublished={q.reload} />
      </Section>
      <Section title="Get messages" open={false} testId="get">
        <GetMessages vhost={vhost} queue={name} onDone={q.reload} />
      </Section>
      <Section title="Delete or purge" open={false} testId="delete-purge">
        <div class="buttons">
          <Check label="only if unused" checked={ifUnused} onChange={setIfUnused} />
          <Check label="only if empty" checked={ifEmpty} onChange={setIfEmpty} />
          <ConfirmButton
            label="Delete queue"
            testId="delete-queue"
            question={`Delete queue ${name}?`}
            onConfirm={async () => {
              const qs = query({ 'if-unused': ifUnused ? 'true' : undefined, 'if-empty': ifEmpty ? 'true' : undefined });
              if (await act(`Queue ${name} deleted.`, () => del(`${path}${qs}`))) go('queues');
            }}
          />
          <ConfirmButton
            label="Purge messages"
            testId="purge-queue"
            question={`Purge every ready message from queue ${name}?`}
            onConfirm={async () => {
              if (await act(`Queue ${name} purged.`, () => del(`${path}/contents`))) q.reload();
            }}
          />
        </div>
      </Section>
    </div>
  );
}
