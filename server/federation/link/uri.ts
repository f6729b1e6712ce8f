/**
 * AMQP URIs as RabbitMQ's shovel and federation read them (amqp_client's amqp_uri):
 * `amqp://user:pass@host:port/vhost?heartbeat=10`, `amqps://…?cacertfile=…&verify=verify_peer`.
 * A URI without a host (`amqp://`, `amqp:///v`) means the local broker, reached without
 * the network (RabbitMQ's "direct" connection); its vhost defaults to `/`.
 */

/** Why a URI was refused, worded as RabbitMQ's validation words it. */
export class UriError extends Error {}

export interface TlsParams {
  cacertfile?: string;
  certfile?: string;
  keyfile?: string;
  verify?: 'verify_peer' | 'verify_none';
  failIfNoPeerCert?: boolean;
  /** A host name to send as SNI, or 'disable'. */
  serverNameIndication?: string;
  /** The key's passphrase. */
  password?: string;
  depth?: number;
}

export interface AmqpEndpoint {
  /** The URI as given (with its credentials: never log or show it). */
  readonly uri: string;
  /** The URI without credentials or query, as RabbitMQ shows it in shovel status and headers. */
  readonly display: string;
  /** No host: this broker, through an in-process connection. */
  readonly local: boolean;
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly vhost: string;
  /** null when the URI has no user info: guest/guest over the network, the internal user locally. */
  readonly username: string | null;
  readonly password: string | null;
  /** Seconds; amqp_client's default is 10. */
  readonly heartbeat: number;
  /** Milliseconds; amqp_client's default is 60,000. */
  readonly connectionTimeout: number;
  readonly channelMax: number;
  readonly frameMax: number;
  /** PLAIN, AMQPLAIN or EXTERNAL, in order of preference. */
  readonly authMechanisms: string[];
  readonly tlsParams: TlsParams;
}

const INTEGER_PARAMS = { heartbeat: 'heartbeat', connection_timeout: 'connectionTimeout', channel_max: 'channelMax', frame_max: 'frameMax' } as const;

function invalid(uri: string, term: string): UriError {
  return new UriError(`"${uri}" not a valid URI: {${term},"${uri}"}`);
}

function unescape(uri: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(uri, `{invalid_entitiy,"${s}"}`);
  }
}

function integer(uri: string, key: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw invalid(uri, `{invalid_amqp_params_parameter,${key},"${v}",{not_an_integer,"${v}"}}`);
  return Number(v);
}

/** Parses one URI; throws UriError with RabbitMQ's wording when it is not one RabbitMQ accepts. */
export function parseAmqpUri(uri: string): AmqpEndpoint {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/.exec(uri);
  if (m === null) throw invalid(uri, '{unable_to_parse_uri,no_scheme}');
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'amqp' && scheme !== 'amqps') throw invalid(uri, `{unexpected_uri_scheme,"${m[1]}"}`);
  const tls = scheme === 'amqps';
  const authority = m[2]!;
  const path = m[3]!;
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : null;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  let host = hostPort;
  let portText = '';
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(hostPort);
  if (v6 !== null) {
    host = v6[1]!;
    portText = v6[2] ?? '';
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon >= 0) {
      host = hostPort.slice(0, colon);
      portText = hostPort.slice(colon + 1);
    }
  }
  let port: number | null = null;
  if (portText !== '') {
    if (!/^\d+$/.test(portText)) throw invalid(uri, '{unable_to_parse_uri,{invalid_port,"' + portText + '"}}');
    port = Number(portText);
    if (port <= 0 || port > 65535) throw invalid(uri, `{port_out_of_range,${port}}`);
  }
  host = unescape(uri, host);
  if (host === '' && port !== null) throw invalid(uri, 'port_requires_host');
  let vhost = '/';
  if (path !== '') {
    const rest = path.slice(1);
    if (rest.includes('/')) throw invalid(uri, `{invalid_vhost,"${rest}"}`);
    vhost = unescape(uri, rest);
  }
  let username: string | null = null;
  let password: string | null = null;
  if (userinfo !== null && userinfo !== '') {
    const colon = userinfo.indexOf(':');
    username = unescape(uri, colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    password = colon >= 0 ? unescape(uri, userinfo.slice(colon + 1)) : null;
  }
  const query = new URLSearchParams(m[4] ?? '');
  const ints = { heartbeat: 10, connectionTimeout: 60000, channelMax: 2047, frameMax: 0 };
  for (const [key, field] of Object.entries(INTEGER_PARAMS)) {
    const v = query.get(key);
    if (v !== null && v !== '') ints[field] = integer(uri, key, v);
  }
  const mechanisms = query.getAll('auth_mechanism').map((s) => s.toUpperCase());
  for (const mech of mechanisms) {
    if (!['PLAIN', 'AMQPLAIN', 'EXTERNAL'].includes(mech)) throw invalid(uri, `{not_mechanism,['${mech.toLowerCase()}']}`);
  }
  const tlsParams: TlsParams = {};
  if (tls) {
    for (const key of ['cacertfile', 'certfile', 'keyfile', 'password'] as const) {
      const v = query.get(key);
      if (v !== null) tlsParams[key] = v;
    }
    const verify = query.get('verify');
    if (verify !== null) {
      if (verify !== 'verify_peer' && verify !== 'verify_none') throw invalid(uri, `{invalid_ssl_parameter,verify,"${verify}"}`);
      tlsParams.verify = verify;
    }
    const fail = query.get('fail_if_no_peer_cert');
    if (fail !== null) {
      if (fail !== 'true' && fail !== 'false') throw invalid(uri, `{invalid_ssl_parameter,fail_if_no_peer_cert,"${fail}",{require_boolean,'${fail}'}}`);
      tlsParams.failIfNoPeerCert = fail === 'true';
    }
    const sni = query.get('server_name_indication');
    if (sni !== null) tlsParams.serverNameIndication = sni;
    const depth = query.get('depth');
    if (depth !== null) tlsParams.depth = integer(uri, 'depth', depth);
  }
  const local = host === '';
  return {
    uri,
    display: `${scheme}://${hostPort}${path}`,
    local,
    tls,
    host,
    port: port ?? (tls ? 5671 : 5672),
    vhost,
    username,
    password,
    ...ints,
    authMechanisms: mechanisms.length > 0 ? mechanisms : ['PLAIN', 'AMQPLAIN'],
    tlsParams,
  };
}

/** The URI without user info or query (amqp_uri:remove_credentials), for status and logs. */
export function withoutCredentials(uri: string): string {
  try {
    return parseAmqpUri(uri).display;
  } catch {
    return uri.replace(/\/\/[^@/?#]*@/, '//');
  }
}
