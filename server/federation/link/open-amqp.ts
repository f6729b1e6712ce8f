import { readFileSync } from 'node:fs';
import { createRequire as requireFrom } from 'node:module';
import { dirname, join } from 'node:path';
import amqp, { type ChannelModel, type Options } from 'amqplib';
import { PipeEnd } from './in-process-pipe.js';
import type { UpstreamEndpoint } from './upstream-uri.js';

/**
 * Opens an amqplib connection for a federation link: over TCP or TLS with the URI's
 * parameters, or, for a URI with no host, through an in-process pipe to this broker.
 */

/** What a link needs of the broker to reach it in-process (Broker implements it). */
export interface InProcessAcceptor {
  /** Serves the broker's end of an in-process pipe as a client connection. */
  acceptLocal(socket: PipeEnd): void;
}

// amqplib's connect() only dials TCP or TLS; over a pipe its Connection and ChannelModel
// are used as connect() uses them after dialling (they are not in its exports map). Loaded
// on first use: a bundle of the broker (the crash tests') has no amqplib to find on disk.
interface RawConnection {
  open(fields: Record<string, unknown>, cb: (err: Error | null) => void): void;
}
interface AmqplibInternals {
  Connection: new (stream: PipeEnd) => RawConnection;
  ChannelModel: new (c: RawConnection) => ChannelModel;
}
let internals: AmqplibInternals | null = null;

function amqplibInternals(): AmqplibInternals {
  if (internals !== null) return internals;
  // Named apart from `require`: bundles declare their own.
  const cjsRequire = requireFrom(import.meta.url);
  const dir = dirname(cjsRequire.resolve('amqplib'));
  const { Connection } = cjsRequire(join(dir, 'lib/connection.js')) as Pick<AmqplibInternals, 'Connection'>;
  const { ChannelModel } = cjsRequire(join(dir, 'lib/channel_model.js')) as Pick<AmqplibInternals, 'ChannelModel'>;
  internals = { Connection, ChannelModel };
  return internals;
}

function clientProperties(connectionName: string): Record<string, unknown> {
  return {
    product: 'Warren',
    information: 'Warren federation link (amqplib)',
    platform: `Node.js ${process.version}`,
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
    },
    connection_name: connectionName,
  };
}

type Credentials = ReturnType<typeof amqp.credentials.plain>;

function credentials(ep: UpstreamEndpoint): Credentials {
  const mech = ep.mechanisms[0];
  if (mech === 'EXTERNAL') return amqp.credentials.external() as Credentials;
  const user = ep.username ?? 'guest';
  const pass = ep.password ?? (ep.username === null ? 'guest' : '');
  return mech === 'AMQPLAIN' ? (amqp.credentials.amqplain(user, pass) as Credentials) : amqp.credentials.plain(user, pass);
}

function file(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Opens the connection; rejects with an Error an operator can act on. */
export async function openAmqp(ep: UpstreamEndpoint, connectionName: string, local: InProcessAcceptor): Promise<ChannelModel> {
  if (ep.local) return openInProcess(ep, connectionName, local);
  const socketOptions: Record<string, unknown> = {
    clientProperties: clientProperties(connectionName),
    credentials: credentials(ep),
    timeout: ep.connectionTimeout,
    noDelay: true,
  };
  if (ep.tls) {
    const t = ep.tlsOptions;
    if (t.cacertfile !== undefined) socketOptions['ca'] = [file('cacertfile', t.cacertfile)];
    if (t.certfile !== undefined) socketOptions['cert'] = file('certfile', t.certfile);
    if (t.keyfile !== undefined) socketOptions['key'] = file('keyfile', t.keyfile);
    if (t.password !== undefined) socketOptions['passphrase'] = t.password;
    // As Erlang's ssl client, which RabbitMQ's links use: no verification unless verify_peer.
    socketOptions['rejectUnauthorized'] = t.verify === 'verify_peer';
    if (t.serverNameIndication === 'disable') socketOptions['checkServerIdentity'] = () => undefined;
    else if (t.serverNameIndication !== undefined) socketOptions['servername'] = t.serverNameIndication;
  }
  const url: Options.Connect = {
    protocol: ep.tls ? 'amqps' : 'amqp',
    hostname: ep.host,
    port: ep.port,
    vhost: ep.vhost,
    heartbeat: ep.heartbeat,
    frameMax: ep.frameMax === 0 ? 131072 : ep.frameMax,
    channelMax: ep.channelMax,
  };
  return amqp.connect(url, socketOptions);
}

function openInProcess(ep: UpstreamEndpoint, connectionName: string, local: InProcessAcceptor): Promise<ChannelModel> {
  const trusted = ep.username === null;
  const [client, server] = PipeEnd.pair(trusted);
  local.acceptLocal(server);
  const creds = trusted ? amqp.credentials.plain('', '') : credentials(ep);
  const { Connection, ChannelModel } = amqplibInternals();
  const raw = new Connection(client);
  return new Promise((resolve, reject) => {
    raw.open(
      {
        clientProperties: clientProperties(connectionName),
        mechanism: creds.mechanism,
        response: creds.response(),
        locale: 'en_US',
        channelMax: 0,
        frameMax: 131072,
        // Nothing to detect in-process.
        heartbeat: 0,
        virtualHost: ep.vhost,
        capabilities: '',
        insist: 0,
      },
      (err) => {
        if (err === null) resolve(new ChannelModel(raw));
        else {
          client.destroy();
          reject(err);
        }
      },
    );
  });
}
