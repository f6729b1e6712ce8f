import type { ApiRequest, ApiResponse, Transport } from './transport.js';

/** A management API answer other than the one a command expected. */
export class ApiStatusError extends Error {
  constructor(
    readonly status: number,
    /** RabbitMQ's error body: `{"error": "...", "reason": "..."}`. */
    readonly error: string,
    readonly reason: string,
    /** `GET /api/users`: what was asked. */
    readonly request = '',
  ) {
    super(reason === '' ? `${status} ${error}` : reason);
  }
}

/** A path segment: names are percent-encoded, so the vhost `/` is `%2F`. */
export const seg = (name: string): string => encodeURIComponent(name);

/** The largest page RabbitMQ's API serves. */
const PAGE_SIZE = 500;

/**
 * The management API as the commands use it: RabbitMQ's paths and JSON over whichever
 * transport reaches the broker.
 */
export class Api {
  constructor(
    readonly transport: Transport,
    /** Each request's time limit. */
    readonly timeoutMs: number,
    /** Called on every answer from the broker (the command's banner can then be shown). */
    private readonly onAnswer: () => void = () => {},
  ) {}

  async raw(req: ApiRequest): Promise<ApiResponse> {
    const res = await this.transport.request(req, this.timeoutMs);
    this.onAnswer();
    return res;
  }

  /** A request whose answer must have one of `ok` statuses; its body. */
  async call(req: ApiRequest, ok: number[] = [200, 201, 204]): Promise<unknown> {
    const res = await this.raw(req);
    if (!ok.includes(res.status)) throw statusError(res, req);
    return res.body;
  }

  get<T>(path: string): Promise<T> {
    return this.call({ method: 'GET', path }, [200]) as Promise<T>;
  }

  /** GET, or undefined when the object does not exist (404). */
  async find<T>(path: string): Promise<T | undefined> {
    const req: ApiRequest = { method: 'GET', path };
    const res = await this.raw(req);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw statusError(res, req);
    return res.body as T;
  }

  put(path: string, body: unknown): Promise<unknown> {
    return this.call({ method: 'PUT', path, body });
  }

  delete(path: string, headers?: Record<string, string>): Promise<unknown> {
    return this.call({ method: 'DELETE', path, ...(headers === undefined ? {} : { headers }) });
  }

  /**
   * A listing, a page at a time as they arrive, so that long lists print as they come.
   * Endpoints that page answer with RabbitMQ's envelope (`items`, `page_count`); the others
   * ignore the paging parameters and answer with the whole array at once.
   */
  async *pages<T>(path: string, sort?: string, columns?: string[]): AsyncGenerator<T[]> {
    const sep = path.includes('?') ? '&' : '?';
    // Only the fields the command prints: a long list of queues is a tenth of the bytes.
    const cols = columns === undefined ? '' : `&columns=${columns.map(encodeURIComponent).join(',')}`;
    for (let page = 1; ; page++) {
      const q = `page=${page}&page_size=${PAGE_SIZE}${sort === undefined ? '' : `&sort=${sort}`}${cols}`;
      const body = await this.get<T[] | { items: T[]; page_count: number }>(`${path}${sep}${q}`);
      if (Array.isArray(body)) {
        yield body;
        return;
      }
      yield body.items;
      if (page >= body.page_count) return;
    }
  }
}

export function statusError(res: ApiResponse, req: ApiRequest): ApiStatusError {
  const b = res.body as { error?: unknown; reason?: unknown } | string | null;
  const what = `${req.method} ${req.path.replace(/\?.*$/, '')}`;
  if (b !== null && typeof b === 'object') return new ApiStatusError(res.status, String(b.error ?? ''), reasonText(b.reason), what);
  return new ApiStatusError(res.status, '', typeof b === 'string' ? b : '', what);
}

function reasonText(r: unknown): string {
  if (r === undefined || r === null) return '';
  return typeof r === 'string' ? r : JSON.stringify(r);
}
