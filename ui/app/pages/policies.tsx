// Policies, operator policies, and vhost and user limits.
import { useState } from 'preact/hooks';
import { del, get, put, seg } from '../api.js';
import { num, value } from '../format.js';
import { href } from '../router.js';
import { act, useSettings, usePoll, useVhostNames } from '../state.js';
import { ArgsEditor, argsToObject, Loading, Section, Select, Table, Text, type ArgRow } from '../widgets.js';

interface PolicyJson {
  vhost: string;
  name: string;
  pattern: string;
  'apply-to': string;
  definition: Record<string, unknown>;
  priority: number;
}

const POLICY_KEYS: [string, ArgRow['type']][] = [
  ['message-ttl', 'number'],
  ['expires', 'number'],
  ['max-length', 'number'],
  ['max-length-bytes', 'number'],
  ['overflow', 'string'],
  ['dead-letter-exchange', 'string'],
  ['dead-letter-routing-key', 'string'],
  ['alternate-exchange', 'string'],
  ['queue-mode', 'string'],
  ['delivery-limit', 'number'],
  ['max-age', 'string'],
  ['federation-upstream-set', 'string'],
];

const OPERATOR_KEYS: [string, ArgRow['type']][] = [
  ['message-ttl', 'number'],
  ['expires', 'number'],
  ['max-length', 'number'],
  ['max-length-bytes', 'number'],
  ['delivery-limit', 'number'],
];

export function PoliciesPanel() {
  return (
    <>
      <PolicyList kind="policies" title="Policies" keys={POLICY_KEYS} />
      <PolicyList kind="operator-policies" title="Operator policies" keys={OPERATOR_KEYS} />
    </>
  );
}

function PolicyList(props: { kind: 'policies' | 'operator-policies'; title: string; keys: [string, ArgRow['type']][] }) {
  const { vhost } = useSettings();
  const base = `/api/${props.kind}`;
  const list = usePoll(() => get<PolicyJson[]>(vhost === '' ? base : `${base}/${seg(vhost)}`), `${props.kind}:${vhost}`);
  return (
    <>
      <h2>{props.title}</h2>
      {list.data === undefined ? (
        <Loading error={list.error} what={props.title.toLowerCase()} />
      ) : (
        <Table
          testId={props.kind}
          columns={[
            { label: 'Virtual host', render: (p) => p.vhost },
            { label: 'Name', render: (p) => p.name },
            { label: 'Pattern', render: (p) => <code>{p.pattern}</code> },
            { label: 'Apply to', render: (p) => p['apply-to'] },
            { label: 'Definition', render: (p) => Object.entries(p.definition).map(([k, v]) => `${k}: ${value(v)}`).join(', ') },
            { label: 'Priority', num: true, render: (p) => num(p.priority) },
            {
              label: '',
              render: (p) => (
                <button type="button" class="small" onClick={async () => (await act(`Policy ${p.name} cleared.`, () => del(`${base}/${seg(p.vhost)}/${seg(p.name)}`))) && list.reload()}>
                  Clear
                </button>
              ),
            },
          ]}
          rows={list.data}
          rowKey={(p) => `${p.vhost}\u0000${p.name}`}
          empty={`No ${props.title.toLowerCase()}.`}
        />
      )}
      <Section title={`Add or update ${props.kind === 'policies' ? 'a policy' : 'an operator policy'}`} open={false} testId={`add-${props.kind}`}>
        <PolicyForm base={base} keys={props.keys} operator={props.kind === 'operator-policies'} onSaved={list.reload} />
      </Section>
    </>
  );
}

function PolicyForm(props: { base: string; keys: [string, ArgRow['type']][]; operator: boolean; onSaved: () => void }) {
  const vhosts = useVhostNames();
  const [vhost, setVhost] = useState('/');
  const [name, setName] = useState('');
  const [pattern, setPattern] = useState('');
  const [applyTo, setApplyTo] = useState(props.operator ? 'queues' : 'all');
  const [priority, setPriority] = useState('0');
  const [definition, setDefinition] = useState<ArgRow[]>([]);
  return (
    <form
      class="form"
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await act(`Policy ${name} set.`, async () =>
          put(`${props.base}/${seg(vhost)}/${seg(name)}`, { pattern, 'apply-to': applyTo, priority: Number(priority), definition: argsToObject(definition) }),
        );
        if (ok) props.onSaved();
      }}
    >
      <Select label="Virtual host" value={vhost} onChange={setVhost} options={vhosts ?? ['/']} />
      <Text label="Name" name="name" value={name} onInput={setName} required />
      <Text label="Pattern" name="pattern" value={pattern} onInput={setPattern} required placeholder="^amq." />
      <Select
        label="Apply to"
        value={applyTo}
        onChange={setApplyTo}
        options={props.operator ? [['queues', 'Queues']] : [['all', 'Exchanges and queues'], ['exchanges', 'Exchanges'], ['queues', 'Queues'], ['classic_queues', 'Classic queues'], ['quorum_queues', 'Quorum queues'], ['streams', 'Streams']]}
      />
      <Text label="Priority" value={priority} onInput={setPriority} size={4} />
      <ArgsEditor label="Definition" rows={definition} onChange={setDefinition} suggestions={props.keys} />
      <div class="buttons">
        <button type="submit" class="primary">
          Add / update policy
        </button>
      </div>
    </form>
  );
}

// ---- limits ----

interface LimitRow {
  owner: string;
  value: Record<string, number>;
}

const VHOST_LIMITS = ['max-connections', 'max-queues'];
const USER_LIMITS = ['max-connections', 'max-channels'];

/** Limits of one vhost or one user (or of all, when `owner` is absent), with set and clear. */
export function LimitsTable(props: { kind: 'vhost' | 'user'; owner?: string; rows: LimitRow[] | undefined; error?: Error; reload: () => void }) {
  const names = props.kind === 'vhost' ? VHOST_LIMITS : USER_LIMITS;
  const base = props.kind === 'vhost' ? '/api/vhost-limits' : '/api/user-limits';
  const [owner, setOwner] = useState(props.owner ?? '');
  const [limit, setLimit] = useState(names[0]!);
  const [val, setVal] = useState('');
  const flat = (props.rows ?? []).flatMap((r) => Object.entries(r.value).map(([k, v]) => ({ owner: r.owner, name: k, value: v })));
  return (
    <>
      {props.rows === undefined ? (
        <Loading error={props.error} what="limits" />
      ) : (
        <Table
          testId={`${props.kind}-limits`}
          columns={[
            ...(props.owner === undefined
              ? [{ label: props.kind === 'vhost' ? 'Virtual host' : 'User', render: (l: (typeof flat)[number]) => <a href={href(props.kind === 'vhost' ? 'vhosts' : 'users', l.owner)}>{l.owner}</a> }]
              : []),
            { label: 'Limit', render: (l) => l.name },
            { label: 'Value', num: true, render: (l) => num(l.value) },
            {
              label: '',
              render: (l) => (
                <button type="button" class="small" onClick={async () => (await act(`Limit ${l.name} cleared.`, () => del(`${base}/${seg(l.owner)}/${l.name}`))) && props.reload()}>
                  Clear
                </button>
              ),
            },
          ]}
          rows={flat}
          rowKey={(l) => `${l.owner}\u0000${l.name}`}
          empty="No limits."
        />
      )}
      <form
        class="form"
        data-testid="limit-form"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await act(`Limit ${limit} set.`, () => put(`${base}/${seg(owner)}/${limit}`, { value: Number(val) }))) props.reload();
        }}
      >
        {props.owner === undefined && <Text label={props.kind === 'vhost' ? 'Virtual host' : 'User'} value={owner} onInput={setOwner} required />}
        <Select label="Limit" name="limit" value={limit} onChange={setLimit} options={names} />
        <Text label="Value" name="value" value={val} onInput={setVal} required size={8} placeholder="-1: no limit" />
        <div class="buttons">
          <button type="submit" class="primary">
            Set limit
          </button>
        </div>
      </form>
    </>
  );
}

export function LimitsPanel() {
  const vl = usePoll(() => get<{ vhost: string; value: Record<string, number> }[]>('/api/vhost-limits'), 'vhost-limits');
  const ul = usePoll(() => get<{ user: string; value: Record<string, number> }[]>('/api/user-limits'), 'user-limits');
  return (
    <>
      <h2>Virtual host limits</h2>
      <LimitsTable kind="vhost" rows={vl.data?.map((l) => ({ owner: l.vhost, value: l.value }))} error={vl.error} reload={vl.reload} />
      <h2>User limits</h2>
      <LimitsTable kind="user" rows={ul.data?.map((l) => ({ owner: l.user, value: l.value }))} error={ul.error} reload={ul.reload} />
    </>
  );
}
