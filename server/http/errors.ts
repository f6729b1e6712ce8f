import { AmqpError } from '../../amqp/errors.js';
import { AccessError } from '../access/errors.js';
import { PolicyError } from '../vhost/policy.js';

/**
 * An HTTP error with RabbitMQ's body: `{"error": ..., "reason": ...}`. The `error` words
 * are the management plugin's: `bad_request`, `not_found`, `not_authorised` (refused by
 * tags or permissions), `not_authorized` (a failed login: RabbitMQ spells it both ways).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: unknown,
    /** Extra response headers (www-authenticate on a failed login). */
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof reason === 'string' ? reason : JSON.stringify(reason));
  }

  get body(): { error: string; reason: unknown } {
    return { error: this.error, reason: this.reason };
  }
}

export const AUTH_REALM = 'Basic realm="RabbitMQ Management"';

/** The 404 RabbitMQ gives for an object that does not exist. */
export function notFound(): HttpError {
  return new HttpError(404, 'Object Not Found', 'Not Found');
}

export function badRequest(reason: unknown): HttpError {
  return new HttpError(400, 'bad_request', reason);
}

export function notAuthorised(reason: string): HttpError {
  return new HttpError(401, 'not_authorised', reason);
}

/**
 * What an AMQP error becomes when a request ran the same operation RabbitMQ runs through a
 * direct channel (rabbit_mgmt_util:direct_request): 404 with the explanation for
 * NOT_FOUND, 401 "Access refused." for ACCESS_REFUSED and NOT_ALLOWED, 400 otherwise.
 */
export function fromAmqp(err: AmqpError): HttpError {
  const explanation = err.explanation;
  if (err.replyCode === 404) return new HttpError(404, 'not_found', explanation);
  if (err.replyCode === 403 || err.replyCode === 530) return notAuthorised('Access refused.');
  return badRequest(explanation);
}

/** Any error a handler threw, as the HTTP error to answer with (null: an internal error). */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof AmqpError) return fromAmqp(err);
  // The reason is rabbit_policy's, with the newline the management API ends it with.
  if (err instanceof PolicyError) return badRequest(`${err.message}\n`);
  // A refused change to users, permissions, limits or parameters: 400 with RabbitMQ's reason.
  if (err instanceof AccessError) return badRequest(err.term ?? err.reason);
  return null;
}

/** rabbit_mgmt_format:escape_html_tags, which some of the plugin's error reasons go through. */
export function escapeHtmlTags(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The plugin's 415 (cowboy's): a body type the resource does not accept; no body. */
export function unsupportedMediaType(): HttpError {
  return new HttpError(415, '', '');
}

/**
 * Whether the request's body is JSON, for the resources that accept only
 * application/json (limits, operator policies, definitions).
 */
export function isJsonBody(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*application\/json\s*(;|$)/i.test(contentType);
}
