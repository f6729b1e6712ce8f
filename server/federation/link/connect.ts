import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { dirname, join } from 'node:path';
import amqp, { type ChannelModel, type Options } from 'amqplib';
import type { Logger } from 'pino';
import { LocalSocket } from './local-socket.js';
import type { AmqpEndpoint } from './uri.js';

/**
 * Opens an amqplib connection for a shovel or federation link: over TCP or TLS with
 * RabbitMQ's URI parameters (heartbeat, connection_timeout, channel_max, frame_max,
 * auth_mechanism, and cacertfile, certfile, keyfile, verify, server_name_indication,
 * password for amqps), or, for a URI with no host, through an in-process pipe to this
 * broker (LocalSocket).
 */

/** What a link needs of the broker to reach it in-process (implemented by Broker). */
export interface LocalAcceptor {
  /** Serves the broker's end of an in-process pipe as a client connection. */
  acceptLocal(socket: LocalSocket): void;
  /** cluster_name, for client properties and x-shovelled headers. */
  readonly clusterName: string;
}

// amqplib's connect() only dials TCP or TLS; over a pipe its Connection and ChannelModel
// are used directly, as its connect() does after dialling (they are not in its exports, so
// they are found by path, on first use).
interface RawConnection {
  open(fields: Record<string, unknown>, cb: (err: Error | null) => void): void;
}
interface AmqplibInternals {
  Connection: new (stream: LocalSocket) => RawConnection;
  ChannelModel: new (c: RawConnection) => ChannelModel;
}
let internals: AmqplibInternals | null = null;

function amqplibInternals(): AmqplibInternals {
  if (internals !== null) return internals;
  const requireHere = nodeModule.createRequire(import.meta.url);
  const dir = dirname(requireHere.resolve('amqplib'));
  const { Connection } = requireHere(join(dir, 'lib/connection.js')) as Pick<AmqplibInternals, 'Connection'>;
  const { ChannelModel } = requireHere(join(dir, 'lib/channel_model.js')) as Pick<AmqplibInternals, 'ChannelModel'>;
  internals = { Connection, ChannelModel };
  return internals;
}

const CAPABILITIES = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
};

function clientProperties(connectionName: string): Record<string, unknown> {
  return {
    product: 'Warren',
    information: 'Warren shovel and federation link (amqplib)',
    platform: `Node.js ${process.version}`,
    capabilities: CAPABILITIES,
    connection_name: connectionName,
  };
}

function credentials(ep: AmqpEndpoint): ReturnType<typeof amqp.credentials.plain> | ReturnType<typeof amqp.credentials.external> {
  const mech = ep.authMechanisms[0];
  if (mech === 'EXTERNAL') return amqp.credentials.external();
  const user = ep.username ?? 'guest';
  const pass = ep.password ?? (ep.username === null ? 'guest' : '');
  return mech === 'AMQPLAIN' ? amqp.credentials.amqplain(user, pass) : amqp.credentials.plain(user, pass);
}

function readFile(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Opens the connection; rejects with an Error whose message says why, in words an operator can act on. */
export async function openLinkConnection(ep: AmqpEndpoint, connectionName: string, local: LocalAcceptor, log: Logger): Promise<ChannelModel> {
  if (ep.local) return openLocal(ep, connectionName, local);
  const socketOptions: Record<string, unknown> = {
    clientProperties: clientProperties(connectionName),
    credentials: credentials(ep),
    timeout: ep.connectionTimeout,
    noDelay: true,
  };
  if (ep.tls) {
    const t = ep.tlsParams;
    if (t.cacertfile !== undefined) socketOptions['ca'] = [readFile('cacertfile', t.cacertfile)];
    if (t.certfile !== undefined) socketOptions['cert'] = readFile('certfile', t.certfile);
    if (t.keyfile !== undefined) socketOptions['key'] = readFile('keyfile', t.keyfile);
    if (t.password !== undefined) socketOptions['passphrase'] = t.password;
    // As Erlang's ssl client (and so RabbitMQ's shovel): no verification unless verify_peer.
    socketOptions['rejectUnauthorized'] = t.verify === 'verify_peer';
    if (t.verify !== 'verify_peer') {
      log.warn({ uri: ep.display }, 'certificate chain verification is not enabled for this TLS connection (add verify=verify_peer to the URI)');
    }
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

function openLocal(ep: AmqpEndpoint, connectionName: string, local: LocalAcceptor): Promise<ChannelModel> {
  const { Connection: RawConnectionClass, ChannelModel: ChannelModelClass } = amqplibInternals();
  const trusted = ep.username === null;
  const [client, server] = LocalSocket.pair(trusted);
  local.acceptLocal(server);
  const creds = trusted ? amqp.credentials.plain('', '') : credentials(ep);
  const raw = new RawConnectionClass(client);
  return new Promise((resolve, reject) => {
    raw.open(
      {
        clientProperties: clientProperties(connectionName),
        mechanism: creds.mechanism,
        response: creds.response(),
        locale: 'en_US',
        channelMax: 0,
        frameMax: 131072,
        // In-process: nothing to detect.
        heartbeat: 0,
        virtualHost: ep.vhost,
        capabilities: '',
        insist: 0,
      },
      (err) => {
        if (err === null) resolve(new ChannelModelClass(raw));
        else {
          client.destroy();
          reject(err);
        }
      },
    );
  });
}
