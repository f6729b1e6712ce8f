import { ApiStatusError, type Api } from './api.js';
import type { CtlIo, Output } from './output.js';
import { CtlError, EXIT } from './transport.js';

/** What a command runs with. */
export interface Ctx {
  api: Api;
  out: Output;
  /** -p / --vhost, `/` by default. */
  vhost: string;
  timeoutMs: number;
  /** The command's own options (commander's), beside the common ones. */
  opts: Record<string, unknown>;
  io: CtlIo;
}

/** One `warren ctl` command, with rabbitmqctl's name, arguments and options. */
export interface CommandSpec {
  name: string;
  /** commander's argument syntax: `<username> <password>`, `[columns...]`. */
  args?: string;
  description: string;
  options?: { flags: string; description: string; default?: string | boolean }[];
  /** The columns it accepts, for its help. */
  columns?: string[];
  /** `args`: the positional arguments; `rest`: those of a variadic last one (`[column...]`). */
  run(ctx: Ctx, args: (string | undefined)[], rest: string[]): Promise<void>;
}

/** rabbitmqctl's answer for a vhost that does not exist: the message alone, exit 65. */
export function noSuchVhost(vhost: string): CtlError {
  return new CtlError(`Virtual host '${vhost}' does not exist`, EXIT.dataerr, true);
}

export function noSuchUser(user: string): CtlError {
  return new CtlError(`User "${user}" does not exist`, EXIT.nouser);
}

/**
 * An API refusal as rabbitmqctl words the same failure: its `reason` (RabbitMQ's
 * validation texts are the same in both) and exit 69, as rabbitmqctl gives for an error
 * the node returned; 400 for bad input is a data error.
 */
export function refused(err: unknown): never {
  if (err instanceof ApiStatusError) throw new CtlError(apiErrorText(err), EXIT.unavailable);
  throw err;
}

/** What an API refusal says: its reason; a bare 404 names what was asked (the route may not exist). */
export function apiErrorText(err: ApiStatusError): string {
  const text = unescapeHtml(err.reason !== '' ? err.reason : err.error);
  return err.status === 404 && err.reason === 'Not Found' ? `${text}: ${err.request}` : text;
}

/** RabbitMQ's API HTML-escapes some reasons (`&lt;&lt;"max-lengthx"&gt;&gt;`). */
function unescapeHtml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** Runs an API call, turning a refusal into rabbitmqctl's error. */
export async function attempt<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    refused(err);
  }
}

/** True when the error is the API's 404. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ApiStatusError && err.status === 404;
}

/** Parses a JSON argument as rabbitmqctl does, with its error text. */
export function jsonArg(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CtlError('JSON decoding error. Reason: badarg', EXIT.unavailable);
  }
}
