import type { Channel } from '../connection/channel.js';
import type { Connection } from '../connection/connection.js';
import { details, isoTime, messageStats, tableToJson } from './format.js';
import { channelName, consumerJson, endpoints, type FormatContext } from './format-objects.js';
import type { Json } from './listing.js';
import { CHANNEL_STATS, counterValue, type StatKey } from './sampler.js';

/**
 * A connection as /api/connections shows it. `one` is the single-object form, where the
 * plugin prints the unset TLS fields as "" instead of null.
 */
export function connectionJson(c: Connection, ctx: FormatContext, one = false): Json {
  const { peer, local } = endpoints(c);
  const none = one ? '' : null;
  const s = ctx.sampler?.stateOf(c) ?? null;
  const out: Json = {
    auth_mechanism: c.authMechanism,
    channel_max: c.channelMax,
    channels: countOf(c.channelList()),
    client_properties: tableToJson(c.clientProperties),
    connected_at: c.connectedAt,
    frame_max: c.frameMax,
    host: local.host,
    name: c.name,
    node: ctx.node,
    peer_cert_issuer: none,
    peer_cert_subject: none,
    peer_cert_validity: none,
    peer_host: peer.host,
    peer_port: peer.port,
    port: local.port,
    protocol: 'AMQP 0-9-1',
    recv_cnt: c.counters.recvCnt,
    recv_oct: c.counters.recvOct,
    recv_oct_details: details(s, 0),
    send_cnt: c.counters.sendCnt,
    send_oct: c.counters.sendOct,
    send_oct_details: details(s, 1),
    send_pend: c.socket.writableLength,
    ssl: false,
    ssl_cipher: none,
    ssl_hash: none,
    ssl_key_exchange: none,
    ssl_protocol: none,
    state: c.status,
    timeout: c.heartbeat,
    type: 'network',
    user: c.user,
    user_who_performed_action: c.user,
    vhost: c.vhost?.name ?? null,
  };
  const provided = c.clientProperties['connection_name'];
  if (typeof provided === 'string') out['user_provided_name'] = provided;
  return out;
}

function countOf(it: Iterable<unknown>): number {
  let n = 0;
  for (const _ of it) n++;
  return n;
}

/** A channel as /api/channels shows it; `one` adds the single-object fields (consumer_details, ...). */
export function channelJson(ch: Channel, ctx: FormatContext, one = false): Json {
  const conn = ch.session as Connection;
  const peer = endpoints(conn).peer;
  const p = ch.publisher;
  const s = ctx.sampler?.stateOf(ch) ?? null;
  const out: Json = {
    acks_uncommitted: p.uncommittedAcks,
    confirm: p.confirmMode,
    connection_details: { name: conn.name, peer_host: peer.host, peer_port: peer.port },
    consumer_count: ch.consumers.size + (ch.replyConsumer === null ? 0 : 1),
    global_prefetch_count: ch.globalPrefetchCount,
    idle_since: isoTime(s?.changedAt ?? conn.connectedAt),
    message_stats: messageStats(CHANNEL_STATS, (k) => counterValue(ch.counters, k as StatKey), s),
    messages_unacknowledged: ch.unacked.size,
    messages_uncommitted: p.uncommittedPublishes,
    messages_unconfirmed: p.unconfirmed,
    name: channelName(ch),
    node: ctx.node,
    number: ch.id,
    pending_raft_commands: 0,
    prefetch_count: ch.prefetchCount,
    state: ch.open ? (conn.status === 'flow' || conn.status === 'blocked' ? 'flow' : 'running') : 'closing',
    transactional: p.transactional,
    user: conn.user,
    user_who_performed_action: conn.user,
    vhost: conn.vhost.name,
  };
  if (one) {
    out['consumer_details'] = [...ch.consumers.values()].map((c) => consumerJson(c, conn.vhost, ctx));
    out['deliveries'] = [];
    out['publishes'] = [];
  }
  return out;
}
