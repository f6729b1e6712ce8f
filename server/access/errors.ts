/**
 * A refused change to users, permissions, limits, vhosts or definitions. `reason` is
 * RabbitMQ's wording for the same refusal, as its HTTP API puts it in `reason`, and `kind`
 * says which kind of refusal it is, so that a caller (the CLI, the HTTP API) can choose
 * its status: a missing user or vhost is `not_found`, anything else `bad_request`.
 */
export class AccessError extends Error {
  constructor(
    readonly kind: 'not_found' | 'bad_request',
    readonly reason: string,
    /**
     * The Erlang term RabbitMQ's HTTP API shows as `reason` for the same refusal, when it
     * is not a string: {no_such_user, <<"u">>} is ["no_such_user","u"].
     */
    readonly term?: unknown,
  ) {
    super(reason);
  }
}

export function noSuchUser(name: string): AccessError {
  return new AccessError('not_found', `no_such_user: ${name}`, ['no_such_user', name]);
}

export function noSuchVhost(name: string): AccessError {
  return new AccessError('not_found', `no_such_vhost: ${name}`, ['no_such_vhost', name]);
}
