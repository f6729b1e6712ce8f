// The UI's only way to the broker: RabbitMQ's management HTTP API, with HTTP basic auth.
// The credentials live in sessionStorage (as in RabbitMQ's UI), so they go with the tab.

const AUTH_KEY = 'warren.auth';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(reason !== '' ? reason : `${status} ${error}`);
  }
}

export interface Whoami {
  name: string;
  tags: string[] | string;
}

type Listener = () => void;
const logoutListeners = new Set<Listener>();

export function onLogout(l: Listener): () => void {
  logoutListeners.add(l);
  return () => logoutListeners.delete(l);
}

export function credentials(): string | null {
  return sessionStorage.getItem(AUTH_KEY);
}

export function basicAuth(user: string, password: string): string {
  // btoa only takes Latin-1: encode the UTF-8 bytes first.
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/** Checks the credentials with /api/whoami and keeps them for the session. */
export async function login(user: string, password: string): Promise<Whoami> {
  const auth = basicAuth(user, password);
  const me = await request<Whoami>('GET', '/api/whoami', undefined, {}, auth);
  const tags = tagList(me.tags);
  if (!tags.some((t) => ['management', 'policymaker', 'monitoring', 'administrator'].includes(t))) {
    throw new ApiError(401, 'not_authorised', 'Not management user');
  }
  sessionStorage.setItem(AUTH_KEY, auth);
  return me;
}

export function logout(): void {
  sessionStorage.removeItem(AUTH_KEY);
  for (const l of logoutListeners) l();
}

export function tagList(tags: string[] | string | undefined): string[] {
  if (tags === undefined) return [];
  return Array.isArray(tags) ? tags : tags.split(',').filter((t) => t !== '');
}

/** One path segment: vhost and object names may hold '/', '#', spaces. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  auth: string | null = credentials(),
): Promise<T> {
  // No Accept header: RabbitMQ answers 406 to DELETE …/contents with `accept: application/json`.
  const h: Record<string, string> = { ...headers };
  if (auth !== null) h.authorization = auth;
  if (body !== undefined) h['content-type'] = 'application/json';
  let res: Response;
  try {
    // credentials: 'omit' keeps the browser's own basic-auth prompt away on a 401.
    res = await fetch(path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, 'unreachable', `The broker cannot be reached (${(err as Error).message})`);
  }
  const text = await res.text();
  let json: unknown = null;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) {
    const e = (json ?? {}) as { error?: string; reason?: string };
    const err = new ApiError(res.status, e.error ?? res.statusText, e.reason ?? (json === null ? text.slice(0, 200) : ''));
    // A session whose credentials stopped working (user deleted, password changed) ends.
    if (res.status === 401 && auth !== null && auth === credentials() && path === '/api/whoami') logout();
    throw err;
  }
  return json as T;
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);
export const put = (path: string, body: unknown): Promise<unknown> => request('PUT', path, body);
export const post = <T = unknown>(path: string, body: unknown): Promise<T> => request<T>('POST', path, body);
export const del = (path: string, headers: Record<string, string> = {}): Promise<unknown> =>
  request('DELETE', path, undefined, headers);

/** A list page as the API returns it when asked with `page`. */
export interface Page<T> {
  items: T[];
  filtered_count: number;
  item_count: number;
  page: number;
  page_count: number;
  page_size: number;
  total_count: number;
}
