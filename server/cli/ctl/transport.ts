import { connect, type Socket } from 'node:net';

/**
 * How `warren ctl` reaches a broker. Every command is written once, over the management
 * HTTP API's paths and JSON (RabbitMQ's); a transport only carries those requests:
 * - `HttpTransport`: any broker, Warren or RabbitMQ, through its management API (`--url`);
 * - `SocketTransport`: a local Warren through the control socket in its data directory,
 *   which serves the same API routes in-process (as rabbitmqctl reaches a local node
 *   without the management plugin's listener).
 */

export interface ApiResponse {
  status: number;
  /** The body parsed as JSON, or its text when it is not JSON; null when empty. */
  body: unknown;
  headers: Record<string, string>;
}

export interface ApiRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** The path from /api/ on, e.g. `/api/queues/%2F`, with its query string. */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Transport {
  /** What the user named: the URL without its password, or the socket's path. */
  readonly target: string;
  /** The user the broker knows the requests by, when there is one (HTTP basic auth). */
  readonly user?: string;
  request(req: ApiRequest, timeoutMs: number): Promise<ApiResponse>;
  close(): void;
}

/** rabbitmqctl's exit codes (sysexits). */
export const EXIT = { ok: 0, usage: 64, dataerr: 65, nouser: 67, unavailable: 69, software: 70, tempfail: 75 } as const;

/**
 * A failure to report and exit with. `bare` prints the message alone, as rabbitmqctl
 * prints some errors (a missing vhost); the others get its "Error:" line first.
 */
export class CtlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly bare = false,
    /**
     * Set when the broker was not reached, or refused the login: then nothing the command
     * began is shown. `connect` (nothing listening, yet) is worth waiting out; the others not.
     */
    readonly unreached: false | 'connect' | 'login' | 'timeout' = false,
  ) {
    super(message);
  }
}

function unreachable(target: string, why: string, reasons: string[]): CtlError {
  return new CtlError(
    `unable to perform an operation on ${target}: ${why}.\n\nMost common reasons for this are:\n\n` + reasons.map((r) => ` * ${r}`).join('\n'),
    EXIT.unavailable,
    false,
    'connect',
  );
}

function timedOut(target: string, timeoutMs: number): CtlError {
  return new CtlError(`operation on ${target} timed out. Timeout value used: ${timeoutMs} ms`, EXIT.tempfail, false, 'timeout');
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An http(s) URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export class HttpTransport implements Transport {
  readonly target: string;
  private readonly base: string;
  private readonly auth: string;
  readonly user: string;

  constructor(url: string) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new CtlError(`not a URL: ${redactUrl(url)} (expected http://user:pass@host:15672)`, EXIT.usage);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new CtlError(`the management API URL must be http:// or https://, not ${u.protocol}//`, EXIT.usage);
    }
    this.user = decodeURIComponent(u.username || 'guest');
    const password = decodeURIComponent(u.password || 'guest');
    this.auth = `Basic ${Buffer.from(`${this.user}:${password}`).toString('base64')}`;
    // A path prefix (management.path_prefix, or a proxy's) is kept; a trailing /api is not.
    const prefix = u.pathname.replace(/\/+$/, '').replace(/\/api$/, '');
    this.base = `${u.protocol}//${u.host}${prefix}`;
    this.target = `the management API at ${this.base}`;
  }

  async request(req: ApiRequest, timeoutMs: number): Promise<ApiResponse> {
    const headers: Record<string, string> = { authorization: this.auth, ...req.headers };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.base + req.path, {
        method: req.method,
        headers,
        ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') throw timedOut(this.target, timeoutMs);
      const why = e.cause?.code ?? e.cause?.message ?? e.message;
      throw unreachable(this.target, `cannot connect (${why})`, [
        'the broker is not running, or its management API is not enabled (RabbitMQ: the rabbitmq_management plugin)',
        'the host or port in --url is wrong (the management port is 15672 by default)',
        'a firewall or proxy is in the way',
      ]);
    }
    const text = await res.text();
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => (out[k] = v));
    const body = parseBody(text);
    if (res.status === 401) {
      const reason = (body as { reason?: string } | null)?.reason ?? 'Login failed';
      throw new CtlError(`the management API at ${this.base} refused user '${this.user}': ${reason}`, EXIT.unavailable, false, 'login');
    }
    return { status: res.status, body, headers: out };
  }

  close(): void {}
}

/** The control socket's reply to an `api` request. */
interface SocketReply {
  ok: boolean;
  error?: string;
  result?: { status: number; headers: Record<string, string>; payload: string };
}

/**
 * One connection to a local broker's control socket, opened on the first request and
 * kept for the next ones (a long listing asks page after page); one request at a time.
 */
export class SocketTransport implements Transport {
  readonly target: string;
  private socket: Socket | null = null;
  private buffered = '';
  private waiting: { resolve: (line: string) => void; reject: (err: Error) => void } | null = null;

  constructor(readonly path: string) {
    this.target = `the broker at ${path}`;
  }

  private open(): Promise<Socket> {
    if (this.socket !== null) return Promise.resolve(this.socket);
    this.buffered = '';
    return new Promise((resolve, reject) => {
      const s = connect(this.path);
      s.setEncoding('utf8');
      s.once('connect', () => {
        this.socket = s;
        resolve(s);
      });
      s.on('data', (chunk: string) => {
        this.buffered += chunk;
        const nl = this.buffered.indexOf('\n');
        if (nl < 0 || this.waiting === null) return;
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const w = this.waiting;
        this.waiting = null;
        w.resolve(line);
      });
      s.on('error', (err: NodeJS.ErrnoException) => {
        const e = this.socketError(err);
        if (this.socket === null) reject(e);
        this.fail(e);
      });
      s.on('close', () => {
        this.socket = null;
        this.fail(new CtlError(`${this.target} closed the control connection`, EXIT.unavailable));
      });
    });
  }

  private socketError(err: NodeJS.ErrnoException): CtlError {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
      return unreachable(this.target, `no broker is listening on its control socket (${err.code})`, [
        'the broker is not running',
        'it runs with another data directory: pass the same --data-dir (default ./data)',
        'it is RabbitMQ or a remote broker: use --url http://user:pass@host:15672',
      ]);
    }
    if (err.code === 'EACCES') {
      return unreachable(this.target, 'permission denied', ['the control socket belongs to the user that runs the broker: run as that user']);
    }
    return unreachable(this.target, err.message, ["the control socket is not a Warren broker's"]);
  }

  private fail(err: Error): void {
    const w = this.waiting;
    this.waiting = null;
    w?.reject(err);
  }

  async request(req: ApiRequest, timeoutMs: number): Promise<ApiResponse> {
    const s = await this.open();
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        s.destroy();
        reject(timedOut(this.target, timeoutMs));
      }, timeoutMs);
      this.waiting = {
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      s.write(JSON.stringify({ cmd: 'api', method: req.method, path: req.path, body: req.body, headers: req.headers }) + '\n');
    });
    const reply = JSON.parse(line) as SocketReply;
    if (!reply.ok || reply.result === undefined) {
      throw new CtlError(`${this.target} cannot serve this request: ${reply.error ?? 'no result'}`, EXIT.unavailable);
    }
    return { status: reply.result.status, headers: reply.result.headers, body: parseBody(reply.result.payload) };
  }

  close(): void {
    this.socket?.end();
    this.socket = null;
  }
}
