// What every page shares: the refresh interval, the vhost filter, notices, and polling of
// the API with a history of samples for the charts.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get } from './api.js';

interface Settings {
  /** ms between refreshes; 0 = never. */
  refresh: number;
  /** '' = all vhosts. */
  vhost: string;
}

const SETTINGS_KEY = 'warren.settings';
const settings: Settings = { refresh: 5000, vhost: '', ...readSettings() };
const settingsListeners = new Set<() => void>();

function readSettings(): Partial<Settings> {
  try {
    return JSON.parse(sessionStorage.getItem(SETTINGS_KEY) ?? '{}') as Partial<Settings>;
  } catch {
    return {};
  }
}

export function setSetting<K extends keyof Settings>(key: K, v: Settings[K]): void {
  settings[key] = v;
  sessionStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  for (const l of settingsListeners) l();
}

export function useSettings(): Settings {
  const [, bump] = useState(0);
  useEffect(() => {
    const l = (): void => bump((n) => n + 1);
    settingsListeners.add(l);
    return () => settingsListeners.delete(l);
  }, []);
  return settings;
}

// ---- notices: one line at the top saying what the last action did ----

export interface Notice {
  kind: 'ok' | 'error';
  text: string;
  at: number;
}
let notice: Notice | null = null;
const noticeListeners = new Set<() => void>();

export function notify(kind: Notice['kind'], text: string): void {
  notice = { kind, text, at: Date.now() };
  for (const l of noticeListeners) l();
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? err.reason : `${err.status} ${err.error}: ${err.reason}`;
  return String((err as Error)?.message ?? err);
}

export function useNotice(): Notice | null {
  const [, bump] = useState(0);
  useEffect(() => {
    const l = (): void => bump((n) => n + 1);
    noticeListeners.add(l);
    return () => noticeListeners.delete(l);
  }, []);
  return notice;
}

/** Runs an action, reports success or failure as a notice, and returns whether it worked. */
export async function act(what: string, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    notify('ok', what);
    return true;
  } catch (err) {
    notify('error', errorText(err));
    return false;
  }
}

// ---- polling ----

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Calls `fetcher` now, whenever `key` changes, and (unless `poll` is false) every refresh
 * interval; keeps the last good answer while a refresh is in flight or fails.
 */
export function usePoll<T>(fetcher: () => Promise<T>, key: string, onData?: (d: T) => void, poll = true): Polled<T> {
  const { refresh } = useSettings();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const fetchRef = useRef(fetcher);
  fetchRef.current = fetcher;
  const onDataRef = useRef(onData);
  onDataRef.current = onData;
  const keyRef = useRef(key);

  useEffect(() => {
    if (keyRef.current !== key) {
      keyRef.current = key;
      setData(undefined);
    }
    let live = true;
    setLoading(true);
    fetchRef.current().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
        setLoading(false);
        onDataRef.current?.(d);
      },
      (err: Error) => {
        if (!live) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [key, tick]);

  useEffect(() => {
    if (refresh <= 0 || !poll) return;
    const t = setInterval(() => {
      if (document.visibilityState !== 'hidden') setTick((n) => n + 1);
    }, refresh);
    return () => clearInterval(t);
  }, [refresh, key, poll]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** The names of the vhosts, for the forms' vhost choosers: fetched once per page. */
export function useVhostNames(): string[] | undefined {
  const v = usePoll(() => get<{ name: string }[]>('/api/vhosts?columns=name'), 'vhost-names', undefined, false);
  return v.data?.map((x) => x.name);
}

// ---- sample history for charts: kept per chart while the tab lives ----

export interface History {
  /** Unix seconds. */
  t: number[];
  series: number[][];
}

const histories = new Map<string, History>();
const MAX_SAMPLES = 720;

/** Appends one sample of `values` to the history named `id` and returns it. */
export function record(id: string, values: number[], at = Date.now()): History {
  let h = histories.get(id);
  if (h === undefined || h.series.length !== values.length) {
    h = { t: [], series: values.map(() => []) };
    histories.set(id, h);
  }
  h.t.push(at / 1000);
  values.forEach((v, i) => h.series[i]!.push(v));
  if (h.t.length > MAX_SAMPLES) {
    h.t.shift();
    for (const s of h.series) s.shift();
  }
  return h;
}

export function history(id: string): History | undefined {
  return histories.get(id);
}
