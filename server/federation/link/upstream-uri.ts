/**
 * AMQP URIs as RabbitMQ's amqp_client reads them (amqp_uri:parse/2), for federation
 * upstreams: `amqp://user:pass@host:port/vhost?heartbeat=10`, `amqps://…?cacertfile=…`.
 * A URI with no host (`amqp://`, `amqp:///v`) is this broker, reached in-process (RabbitMQ's
 * direct connection). A URI with no path names the default vhost the caller gives (the
 * downstream's own, for federation).
 */

/** A URI RabbitMQ would refuse; the message is RabbitMQ's validation text. */
export class UpstreamUriError extends Error {}

export interface UpstreamTls {
  cacertfile?: string;
  certfile?: string;
  keyfile?: string;
  password?: string;
  verify?: string;
  failIfNoPeerCert?: boolean;
  /** A host name to send as SNI, or 'disable'. */
  serverNameIndication?: string;
}

export interface UpstreamEndpoint {
  /** The URI as given, with its credentials: never log or show it. */
  readonly uri: string;
  /** Without user info or query (amqp_uri:remove_credentials): for status, logs and headers. */
  readonly safe: string;
  /** No host: this broker, in-process. */
  readonly local: boolean;
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly vhost: string;
  /** null when the URI names no user: guest/guest over the network, the broker's own user in-process. */
  readonly username: string | null;
  readonly password: string | null;
  /** Seconds (amqp_client's default, 10). */
  readonly heartbeat: number;
  /** Milliseconds (amqp_client's default, 60,000). */
  readonly connectionTimeout: number;
  readonly channelMax: number;
  /** 0: the client's default. */
  readonly frameMax: number;
  /** PLAIN, AMQPLAIN or EXTERNAL, in order of preference. */
  readonly mechanisms: string[];
  readonly tlsOptions: UpstreamTls;
}

function refused(uri: string, term: string): UpstreamUriError {
  return new UpstreamUriError(`"${uri}" not a valid URI: {${term},"${uri}"}`);
}

function unescape(uri: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // amqp_uri names the first bad escape as Erlang prints it: ['%',122,122].
    const bad = /%(?![0-9A-Fa-f]{2})(.?)(.?)/.exec(s);
    const codes = bad === null ? '' : [bad[1], bad[2]].filter((c) => c !== '').map((c) => `,${c!.charCodeAt(0)}`).join('');
    throw refused(uri, `{invalid_entitiy,['%'${codes}]}`);
  }
}

function integer(uri: string, key: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw refused(uri, `{invalid_amqp_params_parameter,${key},"${v}",{not_an_integer,"${v}"}}`);
  return Number(v);
}

/** Parses one URI, or throws UpstreamUriError worded as RabbitMQ's parameter validation. */
export function parseUpstreamUri(uri: string, defaultVhost: string): UpstreamEndpoint {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/.exec(uri);
  if (m === null) throw refused(uri, '{unable_to_parse_uri,no_scheme}');
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'amqp' && scheme !== 'amqps') throw refused(uri, `{unexpected_uri_scheme,"${m[1]}"}`);
  const authority = m[2]!;
  const path = m[3]!;
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : '';
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  let host = hostPort;
  let portText = '';
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(hostPort);
  if (v6 !== null) {
    host = v6[1]!;
    portText = v6[2] ?? '';
  } else if (hostPort.includes(':')) {
    host = hostPort.slice(0, hostPort.lastIndexOf(':'));
    portText = hostPort.slice(hostPort.lastIndexOf(':') + 1);
  }
  let port: number | null = null;
  if (portText !== '') {
    if (!/^\d+$/.test(portText)) throw refused(uri, `{unable_to_parse_uri,{invalid_port,"${portText}"}}`);
    port = Number(portText);
    if (port <= 0 || port > 65535) throw refused(uri, `{port_out_of_range,${port}}`);
  }
  host = unescape(uri, host);
  if (host === '' && port !== null) throw refused(uri, 'port_requires_host');
  let vhost = defaultVhost;
  if (path !== '') {
    const rest = path.slice(1);
    if (rest.includes('/')) throw refused(uri, `{invalid_vhost,"${rest}"}`);
    vhost = unescape(uri, rest);
  }
  let username: string | null = null;
  let password: string | null = null;
  if (userinfo !== '') {
    const colon = userinfo.indexOf(':');
    username = unescape(uri, colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    password = colon >= 0 ? unescape(uri, userinfo.slice(colon + 1)) : null;
  }
  const query = new URLSearchParams(m[4] ?? '');
  const num = (key: string, dflt: number): number => {
    const v = query.get(key);
    return v === null || v === '' ? dflt : integer(uri, key, v);
  };
  const mechanisms = query.getAll('auth_mechanism').map((s) => s.toUpperCase());
  for (const mech of mechanisms) {
    if (!['PLAIN', 'AMQPLAIN', 'EXTERNAL'].includes(mech)) throw refused(uri, `{not_mechanism,['${mech.toLowerCase()}']}`);
  }
  const tls = scheme === 'amqps';
  const tlsOptions: UpstreamTls = {};
  if (tls) {
    for (const key of ['cacertfile', 'certfile', 'keyfile', 'password', 'verify'] as const) {
      const v = query.get(key);
      if (v !== null) tlsOptions[key] = v;
    }
    const fail = query.get('fail_if_no_peer_cert');
    if (fail !== null) tlsOptions.failIfNoPeerCert = fail === 'true';
    const sni = query.get('server_name_indication');
    if (sni !== null) tlsOptions.serverNameIndication = sni;
  }
  return {
    uri,
    safe: `${scheme}://${hostPort}${path}`,
    local: host === '',
    tls,
    host,
    port: port ?? (tls ? 5671 : 5672),
    vhost,
    username,
    password,
    heartbeat: num('heartbeat', 10),
    connectionTimeout: num('connection_timeout', 60000),
    channelMax: num('channel_max', 2047),
    frameMax: num('frame_max', 0),
    mechanisms: mechanisms.length > 0 ? mechanisms : ['PLAIN', 'AMQPLAIN'],
    tlsOptions,
  };
}

/** amqp_uri:remove_credentials, for a URI that may not parse. */
export function safeUri(uri: string): string {
  try {
    return parseUpstreamUri(uri, '/').safe;
  } catch {
    return uri.replace(/\/\/[^@/?#]*@/, '//').replace(/\?.*$/, '');
  }
}
