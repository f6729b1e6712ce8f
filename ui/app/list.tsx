// Paged lists over the API's page, page_size, name, use_regex, sort and sort_reverse: the
// broker filters, sorts and cuts the page, so a list of 10,000 queues costs one page.
import { useEffect, useState } from 'preact/hooks';
import { get, query, type Page } from './api.js';
import { num } from './format.js';
import { usePoll, type Polled } from './state.js';
import type { SortState } from './widgets.js';

export interface ListState {
  page: number;
  pageSize: number;
  name: string;
  regex: boolean;
  sort: SortState;
}

const saved = new Map<string, ListState>();

/** The list's paging, filter and sort, remembered per list while the tab lives. */
export function usePagedList<T>(id: string, path: string, defaultSort: SortState): [Polled<Page<T>>, ListState, (p: Partial<ListState>) => void] {
  const [state, setState] = useState<ListState>(() => saved.get(id) ?? { page: 1, pageSize: 100, name: '', regex: false, sort: defaultSort });
  const update = (p: Partial<ListState>): void => {
    setState((s) => {
      const next = { ...s, ...p };
      // A new filter, sort or page size starts again from the first page.
      if (p.page === undefined) next.page = 1;
      saved.set(id, next);
      return next;
    });
  };
  const q = query({
    page: state.page,
    page_size: state.pageSize,
    name: state.name,
    use_regex: state.regex ? 'true' : undefined,
    sort: state.sort.sort,
    sort_reverse: state.sort.reverse ? 'true' : undefined,
    pagination: 'true',
  });
  const polled = usePoll(() => get<Page<T>>(`${path}${q}`), `${path}${q}`);
  // A page past the end (objects deleted meanwhile) falls back to the last one.
  const pc = polled.data?.page_count;
  useEffect(() => {
    if (pc !== undefined && pc > 0 && state.page > pc) update({ page: pc });
  }, [pc, state.page]);
  return [polled, state, update];
}

/** Filter box, regex switch, page size and pager above a paged list. */
export function ListControls(props: { state: ListState; update: (p: Partial<ListState>) => void; page: Page<unknown> | undefined; noun: string }) {
  const { state, update, page } = props;
  const [text, setText] = useState(state.name);
  useEffect(() => {
    if (text === state.name) return;
    const t = setTimeout(() => update({ name: text }), 300);
    return () => clearTimeout(t);
  }, [text]);
  const first = page === undefined || page.item_count === 0 ? 0 : (page.page - 1) * page.page_size + 1;
  const last = page === undefined ? 0 : first + page.item_count - (page.item_count > 0 ? 1 : 0);
  const badRegex = state.regex && !validRegex(text);
  return (
    <div class="list-controls">
      <label class="filter">
        Filter:{' '}
        <input
          type="search"
          name="filter"
          class={badRegex ? 'invalid' : ''}
          placeholder={state.regex ? 'regular expression' : 'part of the name'}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
      </label>
      <label class="check">
        <input type="checkbox" checked={state.regex} onChange={(e) => update({ regex: e.currentTarget.checked })} /> Regex
      </label>
      <span class="counts" data-testid="list-counts">
        {page === undefined
          ? ''
          : page.filtered_count === page.total_count
            ? `${num(first)}–${num(last)} of ${num(page.total_count)} ${props.noun}`
            : `${num(first)}–${num(last)} of ${num(page.filtered_count)} matching (${num(page.total_count)} ${props.noun} in all)`}
      </span>
      <span class="pager">
        <button type="button" disabled={page === undefined || page.page <= 1} onClick={() => update({ page: 1 })} title="first page">
          «
        </button>
        <button type="button" disabled={page === undefined || page.page <= 1} onClick={() => update({ page: state.page - 1 })} title="previous page">
          ‹
        </button>
        <span>
          Page{' '}
          <select value={String(state.page)} name="page" onChange={(e) => update({ page: Number(e.currentTarget.value) })}>
            {pageOptions(page).map((p) => (
              <option key={p} value={String(p)}>
                {p}
              </option>
            ))}
          </select>{' '}
          of {num(Math.max(1, page?.page_count ?? 1))}
        </span>
        <button type="button" disabled={page === undefined || page.page >= page.page_count} onClick={() => update({ page: state.page + 1 })} title="next page">
          ›
        </button>
        <button type="button" disabled={page === undefined || page.page >= page.page_count} onClick={() => update({ page: page!.page_count })} title="last page">
          »
        </button>
        <select value={String(state.pageSize)} name="page_size" onChange={(e) => update({ pageSize: Number(e.currentTarget.value) })} title="items per page">
          {[20, 50, 100, 500].map((n) => (
            <option key={n} value={String(n)}>
              {n} per page
            </option>
          ))}
        </select>
      </span>
    </div>
  );
}

/** Page numbers to offer: all of them up to 200, else a spread around the current one. */
function pageOptions(page: Page<unknown> | undefined): number[] {
  const count = Math.max(1, page?.page_count ?? 1);
  if (count <= 200) return Array.from({ length: count }, (_, i) => i + 1);
  const cur = page?.page ?? 1;
  const set = new Set<number>([1, count]);
  for (let p = Math.max(1, cur - 50); p <= Math.min(count, cur + 50); p++) set.add(p);
  for (let p = 100; p < count; p += 100) set.add(p);
  return [...set].sort((a, b) => a - b);
}

function validRegex(s: string): boolean {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}
