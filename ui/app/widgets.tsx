// Small building blocks every page uses: tables, key/value lists, sections, form fields,
// an argument editor, and feature chips.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { value } from './format.js';
import { errorText } from './state.js';

export interface Column<T> {
  label: string;
  render: (row: T) => ComponentChildren;
  /** The API's sort key for this column (as `sort=`); absent: not sortable. */
  sort?: string;
  num?: boolean;
  title?: string;
}

export interface SortState {
  sort: string;
  reverse: boolean;
}

export function Table<T>(props: {
  columns: Column<T>[];
  rows: T[] | undefined;
  rowKey: (row: T) => string;
  sort?: SortState;
  onSort?: (s: SortState) => void;
  empty?: string;
  testId?: string;
}) {
  const { columns, rows, rowKey, sort, onSort } = props;
  return (
    <table class="list" data-testid={props.testId}>
      <thead>
        <tr>
          {columns.map((c) => {
            const sortable = c.sort !== undefined && onSort !== undefined;
            const active = sortable && sort?.sort === c.sort;
            const arrow = active ? (sort!.reverse ? ' ▼' : ' ▲') : '';
            return (
              <th
                key={c.label}
                class={`${c.num ? 'num' : ''} ${sortable ? 'sortable' : ''}`}
                title={c.title}
                onClick={sortable ? () => onSort!({ sort: c.sort!, reverse: active ? !sort!.reverse : false }) : undefined}
              >
                {c.label}
                {arrow}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {rows === undefined ? (
          <tr>
            <td colSpan={columns.length} class="muted">
              Loading…
            </td>
          </tr>
        ) : rows.length === 0 ? (
          <tr>
            <td colSpan={columns.length} class="muted">
              {props.empty ?? 'Nothing to show.'}
            </td>
          </tr>
        ) : (
          rows.map((r) => (
            <tr key={rowKey(r)}>
              {columns.map((c) => (
                <td key={c.label} class={c.num ? 'num' : undefined}>
                  {c.render(r)}
                </td>
              ))}
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

export function KV({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <table class="kv">
      <tbody>
        {rows
          .filter(([, v]) => v !== undefined && v !== null && v !== '')
          .map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
      </tbody>
    </table>
  );
}

/** A table of an arguments, headers or client-properties object. */
export function ObjectTable({ obj }: { obj: Record<string, unknown> | undefined }) {
  const entries = Object.entries(obj ?? {});
  if (entries.length === 0) return <span class="muted">none</span>;
  return <KV rows={entries.map(([k, v]) => [k, v !== null && typeof v === 'object' && !Array.isArray(v) ? <ObjectTable obj={v as Record<string, unknown>} /> : value(v)])} />;
}

export function Section(props: { title: string; open?: boolean; children: ComponentChildren; testId?: string }) {
  return (
    <details class="section" open={props.open ?? true} data-testid={props.testId}>
      <summary>{props.title}</summary>
      <div class="section-body">{props.children}</div>
    </details>
  );
}

export function Loading({ error, what }: { error?: Error; what: string }) {
  if (error !== undefined) return <p class="error">Could not load {what}: {errorText(error)}</p>;
  return <p class="muted">Loading {what}…</p>;
}

// ---- form fields ----

interface InputProps {
  required?: boolean;
  disabled?: boolean;
  placeholder?: string;
  size?: number;
}

export function Text(props: { label: string; value: string; onInput: (v: string) => void; name?: string } & InputProps) {
  const { label, value: v, onInput, ...rest } = props;
  return (
    <label class="field">
      <span>{label}</span>
      <input type="text" {...rest} value={v} onInput={(e) => onInput(e.currentTarget.value)} />
    </label>
  );
}

export function Select(props: { label: string; value: string; options: (string | [string, string])[]; onChange: (v: string) => void; name?: string }) {
  return (
    <label class="field">
      <span>{props.label}</span>
      <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.options.map((o) => {
          const [v, l] = Array.isArray(o) ? o : [o, o];
          return (
            <option key={v} value={v}>
              {l}
            </option>
          );
        })}
      </select>
    </label>
  );
}

export function Check(props: { label: string; checked: boolean; onChange: (v: boolean) => void; name?: string }) {
  return (
    <label class="check">
      <input type="checkbox" name={props.name} checked={props.checked} onChange={(e) => props.onChange(e.currentTarget.checked)} />
      {props.label}
    </label>
  );
}

/** A button that asks first; `onConfirm` runs only after the user agrees. */
export function ConfirmButton(props: { label: string; question: string; onConfirm: () => void; danger?: boolean; testId?: string }) {
  return (
    <button
      type="button"
      class={props.danger === false ? '' : 'danger'}
      data-testid={props.testId}
      onClick={() => {
        if (confirm(props.question)) props.onConfirm();
      }}
    >
      {props.label}
    </button>
  );
}

// ---- arguments and headers: typed key/value rows, as RabbitMQ's forms have them ----

export interface ArgRow {
  key: string;
  value: string;
  type: 'string' | 'number' | 'boolean' | 'list';
}

export function argsToObject(rows: ArgRow[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of rows) {
    if (r.key.trim() === '') continue;
    out[r.key.trim()] = parseArg(r);
  }
  return out;
}

function parseArg(r: ArgRow): unknown {
  switch (r.type) {
    case 'number': {
      const n = Number(r.value);
      if (r.value.trim() === '' || !Number.isFinite(n)) throw new Error(`${r.key}: "${r.value}" is not a number`);
      return n;
    }
    case 'boolean':
      return r.value.trim().toLowerCase() === 'true';
    case 'list':
      return r.value.split(',').map((s) => s.trim());
    default:
      return r.value;
  }
}

export function ArgsEditor(props: { label: string; rows: ArgRow[]; onChange: (rows: ArgRow[]) => void; suggestions?: [string, ArgRow['type']][] }) {
  const rows = props.rows.length === 0 || props.rows[props.rows.length - 1]!.key !== '' ? [...props.rows, { key: '', value: '', type: 'string' as const }] : props.rows;
  const set = (i: number, patch: Partial<ArgRow>): void => {
    const next = rows.map((r, j) => (j === i ? { ...r, ...patch } : r));
    props.onChange(next.filter((r, j) => r.key !== '' || r.value !== '' || j === next.length - 1));
  };
  return (
    <div class="field args">
      <span>{props.label}</span>
      <div>
        {rows.map((r, i) => (
          <div class="arg-row" key={i}>
            <input type="text" placeholder="key" value={r.key} onInput={(e) => set(i, { key: e.currentTarget.value })} />
            <span>=</span>
            <input type="text" placeholder="value" value={r.value} onInput={(e) => set(i, { value: e.currentTarget.value })} />
            <select value={r.type} onChange={(e) => set(i, { type: e.currentTarget.value as ArgRow['type'] })}>
              <option value="string">String</option>
              <option value="number">Number</option>
              <option value="boolean">Boolean</option>
              <option value="list">List</option>
            </select>
          </div>
        ))}
        {props.suggestions !== undefined && (
          <div class="suggest">
            Add:{' '}
            {props.suggestions.map(([k, type]) => (
              <a
                key={k}
                href="javascript:void 0"
                onClick={() => {
                  if (!rows.some((r) => r.key === k)) props.onChange([...rows.filter((r) => r.key !== '' || r.value !== ''), { key: k, value: '', type }]);
                }}
              >
                {k}
              </a>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}

// ---- features: short chips for durable, auto-delete, exclusive and well-known arguments ----

const ARG_ABBREV: Record<string, string> = {
  'x-message-ttl': 'TTL',
  'x-expires': 'Exp',
  'x-max-length': 'Lim',
  'x-max-length-bytes': 'Lim B',
  'x-overflow': 'Ovfl',
  'x-dead-letter-exchange': 'DLX',
  'x-dead-letter-routing-key': 'DLK',
  'x-max-priority': 'Pri',
  'x-single-active-consumer': 'SAC',
  'x-queue-mode': 'Lazy',
  'x-delivery-limit': 'DL',
  'alternate-exchange': 'AE',
};

export function Features(props: { durable?: boolean; autoDelete?: boolean; exclusive?: boolean; internal?: boolean; args?: Record<string, unknown>; policy?: string | null }) {
  const chips: [string, string][] = [];
  if (props.durable) chips.push(['D', 'durable']);
  if (props.autoDelete) chips.push(['AD', 'auto-delete']);
  if (props.exclusive) chips.push(['Excl', 'exclusive']);
  if (props.internal) chips.push(['I', 'internal']);
  for (const [k, v] of Object.entries(props.args ?? {})) {
    if (k === 'x-queue-type') continue;
    chips.push([ARG_ABBREV[k] ?? 'Args', `${k}: ${value(v)}`]);
  }
  return (
    <span class="features">
      {chips.map(([c, t]) => (
        <abbr key={t} class="chip" title={t}>
          {c}
        </abbr>
      ))}
      {props.policy ? (
        <abbr class="chip policy" title={`policy: ${props.policy}`}>
          {props.policy}
        </abbr>
      ) : null}
    </span>
  );
}
