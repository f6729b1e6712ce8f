// Exchanges: a paged list with a form to add one, and a page per exchange with its
// bindings both ways, publishing, and deletion.
import { useState } from 'preact/hooks';
import { del, get, put, seg } from '../api.js';
import { rate, statRate } from '../format.js';
import { ListControls, usePagedList } from '../list.js';
import { go, href } from '../router.js';
import { act, errorText, useSettings, usePoll, useVhostNames } from '../state.js';
import { ArgsEditor, argsToObject, Check, ConfirmButton, Features, KV, Loading, Section, Select, Table, Text, type ArgRow, type Column } from '../widgets.js';
import { AddBinding, Bindings, exchangePath, PublishForm, type BindingJson } from './messages.js';

export interface ExchangeJson {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal: boolean;
  arguments: Record<string, unknown>;
  policy?: string | null;
  message_stats?: Record<string, unknown>;
}

export function displayName(name: string): string {
  return name === '' ? '(AMQP default)' : name;
}

export function ExchangesPage() {
  const { vhost } = useSettings();
  const path = vhost === '' ? '/api/exchanges' : `/api/exchanges/${seg(vhost)}`;
  const [list, state, update] = usePagedList<ExchangeJson>(`exchanges:${vhost}`, path, { sort: 'name', reverse: false });
  const columns: Column<ExchangeJson>[] = [
    ...(vhost === '' ? [{ label: 'Virtual host', sort: 'vhost', render: (x: ExchangeJson) => x.vhost }] : []),
    { label: 'Name', sort: 'name', render: (x) => <a href={href('exchanges', x.vhost, x.name === '' ? 'amq.default' : x.name)}>{displayName(x.name)}</a> },
    { label: 'Type', sort: 'type', render: (x) => x.type },
    { label: 'Features', render: (x) => <Features durable={x.durable} autoDelete={x.auto_delete} internal={x.internal} args={x.arguments} policy={x.policy} /> },
    { label: 'Rate in', sort: 'message_stats.publish_in_details.rate', num: true, render: (x) => rate(statRate(x.message_stats, 'publish_in')) },
    { label: 'Rate out', sort: 'message_stats.publish_out_details.rate', num: true, render: (x) => rate(statRate(x.message_stats, 'publish_out')) },
  ];
  return (
    <div class="page">
      <h2>Exchanges</h2>
      <ListControls state={state} update={update} page={list.data} noun="exchanges" />
      <Table testId="exchanges" columns={columns} rows={list.data?.items} rowKey={(x) => `${x.vhost}\u0000${x.name}`} sort={state.sort} onSort={(sort) => update({ sort })} />
      {list.error !== undefined && <p class="error">{errorText(list.error)}</p>}
      <Section title="Add a new exchange" open={false} testId="add-exchange">
        <AddExchange defaultVhost={vhost} onAdded={list.reload} />
      </Section>
    </div>
  );
}

function AddExchange(props: { defaultVhost: string; onAdded: () => void }) {
  const vhosts = useVhostNames();
  const [vhost, setVhost] = useState(props.defaultVhost || '/');
  const [name, setName] = useState('');
  const [type, setType] = useState('direct');
  const [durable, setDurable] = useState(true);
  const [autoDelete, setAutoDelete] = useState(false);
  const [internal, setInternal] = useState(false);
  const [args, setArgs] = useState<ArgRow[]>([]);
  return (
    <form
      class="form"
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await act(`Exchange ${name} added.`, async () =>
          put(`/api/exchanges/${seg(vhost)}/${seg(name)}`, { type, durable, auto_delete: autoDelete, internal, arguments: argsToObject(args) }),
        );
        if (ok) {
          setName('');
          props.onAdded();
        }
      }}
    >
      <Select label="Virtual host" value={vhost} onChange={setVhost} options={vhosts ?? [vhost]} />
      <Text label="Name" name="name" value={name} onInput={setName} required />
      <Select label="Type" name="type" value={type} onChange={setType} options={['direct', 'fanout', 'headers', 'topic']} />
      <div class="field">
        <span>Options</span>
        <span class="inline">
          <Check label="durable" checked={durable} onChange={setDurable} />
          <Check label="auto-delete" checked={autoDelete} onChange={setAutoDelete} />
          <Check label="internal" checked={internal} onChange={setInternal} />
        </span>
      </div>
      <ArgsEditor label="Arguments" rows={args} onChange={setArgs} suggestions={[['alternate-exchange', 'string']]} />
      <div class="buttons">
        <button type="submit" class="primary">
          Add exchange
        </button>
      </div>
    </form>
  );
}

export function ExchangePage({ vhost, name }: { vhost: string; name: string }) {
  const real = name === 'amq.default' ? '' : name;
  const x = usePoll(() => get<ExchangeJson>(exchangePath(vhost, real)), `exchange:${vhost}:${name}`);
  const src = usePoll(() => get<BindingJson[]>(`${exchangePath(vhost, real)}/bindings/source`), `xbs:${vhost}:${name}`);
  const dst = usePoll(() => get<BindingJson[]>(`${exchangePath(vhost, real)}/bindings/destination`), `xbd:${vhost}:${name}`);
  if (x.data === undefined) return <Loading error={x.error} what={`exchange ${name}`} />;
  const d = x.data;
  const isDefault = real === '';
  const builtIn = isDefault || real.startsWith('amq.');
  return (
    <div class="page">
      <h2>
        Exchange <span class="name">{displayName(real)}</span> <span class="muted">in virtual host {vhost}</span>
      </h2>
      <div class="columns">
        <Section title="Details">
          <KV
            rows={[
              ['Type', d.type],
              ['Features', <Features durable={d.durable} autoDelete={d.auto_delete} internal={d.internal} args={d.arguments} />],
              ['Policy', d.policy ?? ''],
              ['Publish in', rate(statRate(d.message_stats, 'publish_in'))],
              ['Publish out', rate(statRate(d.message_stats, 'publish_out'))],
            ]}
          />
        </Section>
      </div>
      {isDefault ? (
        <p class="muted">The default exchange is implicitly bound to every queue, with a routing key equal to the queue name. It cannot be bound or unbound.</p>
      ) : (
        <>
          <Section title="Bindings from this exchange">
            <Bindings vhost={vhost} rows={src.data} side="source" reload={src.reload} testId="bindings-source" />
            <h4>Add a binding from this exchange</h4>
            <AddBinding vhost={vhost} exchange={real} onAdded={src.reload} />
          </Section>
          <Section title="Bindings to this exchange" open={(dst.data?.length ?? 0) > 0}>
            <Bindings vhost={vhost} rows={dst.data} side="destination" reload={dst.reload} />
          </Section>
        </>
      )}
      <Section title="Publish message" open={false} testId="publish">
        <PublishForm vhost={vhost} exchange={real} />
      </Section>
      {!builtIn && (
        <Section title="Delete this exchange" open={false}>
          <ConfirmButton
            label="Delete"
            question={`Delete exchange ${real}?`}
            onConfirm={async () => {
              if (await act(`Exchange ${real} deleted.`, () => del(exchangePath(vhost, real)))) go('exchanges');
            }}
          />
        </Section>
      )}
    </div>
  );
}
