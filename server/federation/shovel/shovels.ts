import type { Logger } from 'pino';
import type { FieldTable } from '../../../amqp/table.js';
import type { AccessControl } from '../../access/access-control.js';
import type { ParameterComponent } from '../../access/parameters.js';
import { parseShovel, validateShovel } from './parameters.js';
import { Shovel, type ShovelHost } from './shovel.js';

/** A shovel's entry in GET /api/shovels and `shovel_status`, with RabbitMQ's field names. */
export interface ShovelStatus {
  node: string;
  timestamp: string;
  name: string;
  vhost: string;
  type: 'dynamic';
  state: 'starting' | 'running' | 'terminated';
  src_uri?: string;
  src_protocol?: 'amqp091';
  dest_protocol?: 'amqp091';
  dest_uri?: string;
  src_queue?: string;
  src_exchange?: string;
  src_exchange_key?: string;
  dest_queue?: string;
  dest_exchange?: string;
  dest_exchange_key?: string;
  /** Why it stopped (terminated only). */
  reason?: string;
  /** Messages moved so far (RabbitMQ 4.1 reports the same metric). */
  forwarded: number;
  /** Messages left to move before it deletes itself (with src-delete-after only). */
  remaining?: number;
  /** Warren: the last failure, connecting or running, until it next runs. */
  last_error?: string;
}

/** What the shovel component needs of the broker. */
export interface ShovelsHost extends Pick<ShovelHost, 'acceptLocal'> {
  readonly log: Logger;
  readonly access: AccessControl;
  /** Its cluster_name goes in x-shovelled. */
  readonly serverProperties: FieldTable;
  /** Status names it as the node. */
  readonly nodeName: string;
}

/** RabbitMQ's timestamp format in shovel status: local time, `2026-12-02 7:31:05`. */
function formatTimestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${d.getHours()}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const key = (vhost: string, name: string): string => `${vhost}\0${name}`;

/**
 * The `shovel` runtime parameter component (rabbit_shovel_parameters with
 * rabbit_shovel_dyn_worker_sup_sup): setting a parameter validates its value and starts
 * (or restarts) its shovel, clearing it stops the shovel. Parameters recovered at boot
 * create their shovels at once; they start running when the broker starts listening.
 */
export class Shovels implements ParameterComponent, ShovelHost {
  private readonly shovels = new Map<string, Shovel>();
  private started = false;

  constructor(private readonly host: ShovelsHost) {}

  get clusterName(): string {
    return String(this.host.serverProperties['cluster_name']);
  }

  acceptLocal(socket: Parameters<ShovelHost['acceptLocal']>[0]): void {
    this.host.acceptLocal(socket);
  }

  validate(_vhost: string, name: string, value: unknown, user: string | null): string[] {
    const access = this.host.access;
    const acting = user === null ? null : { name: user, mayConnect: (v: string) => access.hasVhostAccess(user, v) };
    return validateShovel(name, value, acting);
  }

  /** A shovel's parameter was set (or recovered): its shovel starts, or restarts with the new value. */
  apply(vhost: string, name: string, value: unknown): void {
    const k = key(vhost, name);
    const old = this.shovels.get(k);
    if (old !== undefined) void old.stop(true);
    const shovel = new Shovel(parseShovel(vhost, name, value as Record<string, unknown>), this, this.host.log);
    this.shovels.set(k, shovel);
    this.host.log.info({ shovel: name, vhost }, old === undefined ? 'shovel defined' : 'shovel redefined: restarting it');
    if (this.started) shovel.start();
  }

  /** Its parameter was cleared, or its vhost deleted: the shovel stops. */
  remove(vhost: string, name: string): void {
    const k = key(vhost, name);
    const shovel = this.shovels.get(k);
    if (shovel === undefined) return;
    this.shovels.delete(k);
    if (!shovel.completed) this.host.log.info({ shovel: name, vhost }, 'shovel deleted: stopping it');
    void shovel.stop(true);
  }

  /** Stops a shovel and starts it again from its parameter (DELETE /api/shovels/vhost/{vhost}/{name}/restart); false when there is none. */
  restart(vhost: string, name: string): boolean {
    const param = this.host.access.parameter(vhost, 'shovel', name);
    if (param === undefined || !this.shovels.has(key(vhost, name))) return false;
    this.host.log.info({ shovel: name, vhost }, 'shovel restarting');
    this.apply(vhost, name, param);
    return true;
  }

  /** The shovel finished its src-delete-after: its parameter goes, as in RabbitMQ. */
  shovelCompleted(vhost: string, name: string): void {
    if (this.shovels.get(key(vhost, name))?.completed !== true) return;
    try {
      this.host.access.clearParameter(vhost, 'shovel', name);
    } catch {
      // The vhost went meanwhile.
    }
    this.shovels.delete(key(vhost, name));
  }

  /** Starts every defined shovel (the broker is listening). */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const s of this.shovels.values()) s.start();
  }

  /** Stops every shovel, letting on-confirm ones settle what is in flight. */
  async close(): Promise<void> {
    this.started = false;
    await Promise.all([...this.shovels.values()].map((s) => s.stop(true)));
  }

  get(vhost: string, name: string): Shovel | undefined {
    return this.shovels.get(key(vhost, name));
  }

  /** Every shovel's status, as GET /api/shovels lists them. */
  status(vhost?: string): ShovelStatus[] {
    const out: ShovelStatus[] = [];
    for (const s of this.shovels.values()) {
      const d = s.def;
      if (vhost !== undefined && d.vhost !== vhost) continue;
      // In RabbitMQ's order of fields; Warren's (and 4.1's) counters last.
      const e = {
        node: this.host.nodeName,
        timestamp: formatTimestamp(s.since),
        name: d.name,
        vhost: d.vhost,
        type: 'dynamic',
        state: s.state,
      } as ShovelStatus;
      if (s.state === 'running') {
        Object.assign(e, { src_uri: s.srcUri ?? '', src_protocol: 'amqp091', dest_protocol: 'amqp091', dest_uri: s.destUri ?? '' });
        if (d.srcQueue !== null) e.src_queue = d.srcQueue;
        else Object.assign(e, { src_exchange: d.srcExchange ?? '', src_exchange_key: d.srcExchangeKey });
        if (d.destExchange !== null) e.dest_exchange = d.destExchange;
        if (d.destExchangeKey !== null) e.dest_exchange_key = d.destExchangeKey;
        if (d.destQueue !== null) e.dest_queue = d.destQueue;
      }
      if (s.state === 'terminated' && s.reason !== null) e.reason = s.reason;
      e.forwarded = s.forwarded;
      if (s.remaining !== Infinity) e.remaining = Math.max(0, s.remaining);
      if (s.lastError !== null) e.last_error = s.lastError;
      out.push(e);
    }
    return out;
  }
}
