// Forms the exchange and queue pages share: publish a message, get messages, and bindings
// (list, add, remove).
import { useState } from 'preact/hooks';
import { del, post, seg } from '../api.js';
import { bytes, num, value } from '../format.js';
import { href } from '../router.js';
import { act, errorText, notify } from '../state.js';
import { ArgsEditor, argsToObject, KV, ObjectTable, Select, Table, Text, type ArgRow } from '../widgets.js';

const PROPERTY_KEYS = ['content_type', 'content_encoding', 'priority', 'correlation_id', 'reply_to', 'expiration', 'message_id', 'timestamp', 'type', 'user_id', 'app_id'];

/** `/api/exchanges/{vhost}/{name}`, with the default exchange as amq.default. */
export function exchangePath(vhost: string, name: string): string {
  return `/api/exchanges/${seg(vhost)}/${seg(name === '' ? 'amq.default' : name)}`;
}

export function PublishForm(props: { vhost: string; exchange: string; routingKey?: string; onPublished?: () => void }) {
  const [routingKey, setRoutingKey] = useState(props.routingKey ?? '');
  const [mode, setMode] = useState('1');
  const [headers, setHeaders] = useState<ArgRow[]>([]);
  const [propsRows, setPropsRows] = useState<ArgRow[]>([]);
  const [payload, setPayload] = useState('');
  const [encoding, setEncoding] = useState('string');
  return (
    <form
      class="form"
      data-testid="publish-form"
      onSubmit={async (e) => {
        e.preventDefault();
        let properties: Record<string, unknown>;
        try {
          const h = argsToObject(headers);
          properties = { delivery_mode: Number(mode), ...(Object.keys(h).length > 0 ? { headers: h } : {}) };
          for (const r of propsRows) {
            if (r.key.trim() === '') continue;
            if (!PROPERTY_KEYS.includes(r.key.trim())) throw new Error(`${r.key}: not a message property (${PROPERTY_KEYS.join(', ')})`);
            properties[r.key.trim()] = r.key === 'priority' || r.key === 'timestamp' ? Number(r.value) : r.value;
          }
        } catch (err) {
          notify('error', errorText(err));
          return;
        }
        try {
          const res = await post<{ routed: boolean }>(`${exchangePath(props.vhost, props.exchange)}/publish`, {
            properties,
            routing_key: routingKey,
            payload,
            payload_encoding: encoding,
          });
          notify(res.routed ? 'ok' : 'error', res.routed ? 'Message published.' : 'Message published, but not routed.');
          props.onPublished?.();
        } catch (err) {
          notify('error', errorText(err));
        }
      }}
    >
      <Text label="Routing key" name="routing_key" value={routingKey} onInput={setRoutingKey} disabled={props.routingKey !== undefined} />
      <Select label="Delivery mode" name="delivery_mode" value={mode} onChange={setMode} options={[['1', '1 - Non-persistent'], ['2', '2 - Persistent']]} />
      <ArgsEditor label="Headers" rows={headers} onChange={setHeaders} />
      <ArgsEditor label="Properties" rows={propsRows} onChange={setPropsRows} suggestions={PROPERTY_KEYS.map((k) => [k, 'string'])} />
      <label class="field">
        <span>Payload</span>
        <textarea name="payload" rows={4} value={payload} onInput={(e) => setPayload(e.currentTarget.value)} />
      </label>
      <Select label="Payload encoding" value={encoding} onChange={setEncoding} options={[['string', 'String (default)'], ['base64', 'Base64']]} />
      <div class="buttons">
        <button type="submit" class="primary">
          Publish message
        </button>
      </div>
    </form>
  );
}

interface GotMessage {
  payload: string;
  payload_bytes: number;
  payload_encoding: string;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  message_count: number;
  properties: Record<string, unknown>;
}

export function GetMessages(props: { vhost: string; queue: string; onDone?: () => void }) {
  const [ackmode, setAckmode] = useState('ack_requeue_true');
  const [encoding, setEncoding] = useState('auto');
  const [count, setCount] = useState('1');
  const [truncate, setTruncate] = useState('50000');
  const [got, setGot] = useState<GotMessage[] | null>(null);
  return (
    <div>
      <p class="warning">Getting messages from a queue is a destructive action unless the messages are requeued.</p>
      <form
        class="form"
        data-testid="get-form"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            const body: Record<string, unknown> = { count: Number(count), ackmode, encoding };
            if (truncate.trim() !== '') body.truncate = Number(truncate);
            const msgs = await post<GotMessage[]>(`/api/queues/${seg(props.vhost)}/${seg(props.queue)}/get`, body);
            setGot(msgs);
            notify('ok', msgs.length === 0 ? 'Queue is empty' : `${msgs.length} message${msgs.length === 1 ? '' : 's'} got.`);
            props.onDone?.();
          } catch (err) {
            notify('error', errorText(err));
          }
        }}
      >
        <Select
          label="Ack mode"
          name="ackmode"
          value={ackmode}
          onChange={setAckmode}
          options={[
            ['ack_requeue_true', 'Nack message requeue true'],
            ['ack_requeue_false', 'Automatic ack'],
            ['reject_requeue_true', 'Reject requeue true'],
            ['reject_requeue_false', 'Reject requeue false'],
          ]}
        />
        <Select label="Encoding" value={encoding} onChange={setEncoding} options={[['auto', 'Auto string / base64'], ['base64', 'base64']]} />
        <Text label="Messages" name="count" value={count} onInput={setCount} size={5} />
        <Text label="Truncate at (bytes)" value={truncate} onInput={setTruncate} size={8} />
        <div class="buttons">
          <button type="submit" class="primary">
            Get messages
          </button>
        </div>
      </form>
      {got !== null && got.length === 0 && <p class="muted">Queue is empty.</p>}
      {got?.map((m, i) => (
        <div class="message" key={i} data-testid="message">
          <h4>Message {i + 1}</h4>
          <p class="muted">The server reported {num(m.message_count)} messages remaining.</p>
          <KV
            rows={[
              ['Exchange', m.exchange === '' ? '(AMQP default)' : m.exchange],
              ['Routing key', m.routing_key],
              ['Redelivered', m.redelivered ? '●' : '○'],
              ['Properties', <ObjectTable obj={m.properties} />],
              ['Payload', `${bytes(m.payload_bytes)}, encoding: ${m.payload_encoding}`],
            ]}
          />
          <pre class="payload" data-testid="payload">
            {m.payload}
          </pre>
        </div>
      ))}
    </div>
  );
}

export interface BindingJson {
  source: string;
  vhost: string;
  destination: string;
  destination_type: 'queue' | 'exchange';
  routing_key: string;
  arguments: Record<string, unknown>;
  properties_key: string;
}

function bindingPath(b: BindingJson): string {
  const d = b.destination_type === 'queue' ? 'q' : 'e';
  return `/api/bindings/${seg(b.vhost)}/e/${seg(b.source)}/${d}/${seg(b.destination)}/${seg(b.properties_key)}`;
}

/**
 * Bindings of one queue or exchange. `side` says which end this object is: 'destination'
 * (a queue's bindings, or bindings into an exchange) lists sources; 'source' lists
 * destinations.
 */
export function Bindings(props: { vhost: string; rows: BindingJson[] | undefined; side: 'source' | 'destination'; reload: () => void; testId?: string }) {
  const other = (b: BindingJson) => {
    if (props.side === 'destination') {
      return b.source === '' ? <span class="muted">(Default exchange binding)</span> : <a href={href('exchanges', b.vhost, b.source)}>{b.source}</a>;
    }
    return (
      <>
        <span class="muted">{b.destination_type === 'queue' ? 'queue ' : 'exchange '}</span>
        <a href={href(b.destination_type === 'queue' ? 'queues' : 'exchanges', b.vhost, b.destination)}>{b.destination}</a>
      </>
    );
  };
  return (
    <Table
      testId={props.testId}
      columns={[
        { label: props.side === 'destination' ? 'From' : 'To', render: other },
        { label: 'Routing key', render: (b) => b.routing_key },
        { label: 'Arguments', render: (b) => Object.entries(b.arguments ?? {}).map(([k, v]) => `${k}: ${value(v)}`).join(', ') },
        {
          label: '',
          render: (b) =>
            b.source === '' ? null : (
              <button type="button" class="small" onClick={async () => (await act('Binding removed.', () => del(bindingPath(b)))) && props.reload()}>
                Unbind
              </button>
            ),
        },
      ]}
      rows={props.rows}
      rowKey={(b) => `${b.source}\u0000${b.destination_type}\u0000${b.destination}\u0000${b.properties_key}`}
      empty="No bindings."
    />
  );
}

/** Adds a binding: from an exchange to this queue, or from this exchange to a queue or exchange. */
export function AddBinding(props: { vhost: string; queue?: string; exchange?: string; onAdded: () => void }) {
  const [destType, setDestType] = useState<'q' | 'e'>('q');
  const [other, setOther] = useState('');
  const [routingKey, setRoutingKey] = useState('');
  const [args, setArgs] = useState<ArgRow[]>([]);
  const toQueue = props.queue !== undefined;
  return (
    <form
      class="form"
      data-testid="add-binding"
      onSubmit={async (e) => {
        e.preventDefault();
        const source = toQueue ? other : props.exchange!;
        const path = toQueue
          ? `/api/bindings/${seg(props.vhost)}/e/${seg(source)}/q/${seg(props.queue!)}`
          : `/api/bindings/${seg(props.vhost)}/e/${seg(source)}/${destType}/${seg(other)}`;
        const ok = await act('Binding added.', async () => post(path, { routing_key: routingKey, arguments: argsToObject(args) }));
        if (ok) {
          setRoutingKey('');
          props.onAdded();
        }
      }}
    >
      {toQueue ? (
        <Text label="From exchange" name="source" value={other} onInput={setOther} required />
      ) : (
        <div class="field">
          <span>To</span>
          <span class="inline">
            <select name="destination_type" value={destType} onChange={(e) => setDestType(e.currentTarget.value as 'q' | 'e')}>
              <option value="q">queue</option>
              <option value="e">exchange</option>
            </select>
            <input type="text" name="destination" value={other} onInput={(e) => setOther(e.currentTarget.value)} required />
          </span>
        </div>
      )}
      <Text label="Routing key" name="binding_key" value={routingKey} onInput={setRoutingKey} />
      <ArgsEditor label="Arguments" rows={args} onChange={setArgs} />
      <div class="buttons">
        <button type="submit" class="primary">
          Bind
        </button>
      </div>
    </form>
  );
}
