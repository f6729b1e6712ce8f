import type { FederationLink } from './link.js';

/** One entry of GET /api/federation-links, in RabbitMQ's field order (rabbit_federation_status:format). */
export type LinkStatusJson = Record<string, unknown>;

/** RabbitMQ prints the time as `~w-~2.2.0w-~2.2.0w ~w:~2.2.0w:~2.2.0w` of the local time: the hour unpadded. */
export function statusTimestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${d.getHours()}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function linkStatus(link: FederationLink, node: string): LinkStatusJson {
  const out: LinkStatusJson = { node };
  if (link.kind === 'exchange') {
    out['exchange'] = link.resource;
    out['upstream_exchange'] = link.upstreamResource;
  } else {
    out['queue'] = link.resource;
    out['upstream_queue'] = link.upstreamResource;
    out['consumer_tag'] = link.upstream.consumerTag;
  }
  out['type'] = link.kind;
  out['vhost'] = link.vhost;
  out['upstream'] = link.upstream.name;
  out['id'] = link.id;
  out['status'] = link.state;
  if (link.state === 'running' && link.localConnection !== null) out['local_connection'] = link.localConnection;
  if (link.state === 'error') out['error'] = link.error;
  out['uri'] = link.uri;
  out['timestamp'] = statusTimestamp(link.since);
  return out;
}
