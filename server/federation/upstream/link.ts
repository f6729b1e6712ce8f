import { createHash } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { Logger } from 'pino';
import { openAmqp, type InProcessAcceptor } from '../link/open-amqp.js';
import { parseUpstreamUri, safeUri, type UpstreamEndpoint } from '../link/upstream-uri.js';
import type { Upstream } from './upstreams.js';

/** What a link needs of the broker (the Federation manager passes it on). */
export interface LinkHost extends InProcessAcceptor {
  readonly log: Logger;
  /** This broker's cluster_name: how other brokers' links know it (x-received-from, cycle detection). */
  readonly clusterName: string;
}

/** RabbitMQ's link states; `error` carries the reason. */
export type LinkState = 'starting' | 'running' | 'error';

/** Seconds between attempts never go below this, so a dead upstream cannot spin the loop. */
const MIN_RETRY_MS = 100;

/**
 * One federation link: a downstream exchange or queue and one of its upstreams. It opens
 * an in-process connection to its own vhost and one to the upstream, sets up (the
 * subclass's part), and runs; when either side fails it closes both and tries again after
 * the upstream's reconnect-delay, as RabbitMQ's link supervisor restarts a link. Each
 * attempt has a generation: events from an older attempt's connections are ignored.
 */
export abstract class FederationLink {
  state: LinkState = 'starting';
  error: string | null = null;
  /** When the state last changed (RabbitMQ's timestamp). */
  since = new Date();
  /** The in-process connection's name while running. */
  localConnection: string | null = null;
  /** The URI (without credentials) of the current attempt. */
  uri: string;
  protected generation = 0;
  protected up: ChannelModel | null = null;
  protected down: ChannelModel | null = null;
  /** The upstream channel the link consumes on, and the downstream one it publishes on. */
  protected ch: Channel | null = null;
  protected dch: Channel | ConfirmChannel | null = null;
  protected endpoint: UpstreamEndpoint | null = null;
  /** The upstream broker's cluster_name, when its server properties have one. */
  protected upstreamCluster: string | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  protected readonly log: Logger;
  readonly id: string;

  constructor(
    protected readonly host: LinkHost,
    readonly vhost: string,
    readonly kind: 'exchange' | 'queue',
    /** The downstream exchange or queue. */
    readonly resource: string,
    readonly upstream: Upstream,
    /** The policy that federates it (for connection names). */
    readonly policy: string,
  ) {
    this.uri = safeUri(this.pickUri());
    this.log = host.log.child({ federation: kind, vhost, [kind]: resource, upstream: upstream.name });
    // Stable across restarts, as RabbitMQ's id hashes the same key (its phash2 is Erlang's own).
    this.id = createHash('sha1').update(JSON.stringify([vhost, kind, resource, upstream.name, this.upstreamResource])).digest('hex').slice(0, 8);
  }

  /** The exchange or queue on the upstream. */
  get upstreamResource(): string {
    return this.kind === 'exchange' ? this.upstream.exchange : this.upstream.queue;
  }

  /** As RabbitMQ names both of a link's connections (connection_name). */
  get connectionName(): string {
    return `Federation link (upstream: ${this.upstream.name}, policy: ${this.policy})`;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Connects and sets up; resolves once the link runs (its subclass consumes). */
  protected abstract setUp(generation: number): Promise<void>;

  /** Undoes what setUp made upstream when the link is stopped for good (exchange federation's queue and exchange). */
  protected async cleanUp(): Promise<void> {}

  /** Forgets the state of a failed or stopped attempt (timers, unacked deliveries). */
  protected abstract reset(): void;

  private pickUri(): string {
    const uris = this.upstream.uris;
    return uris[Math.floor(Math.random() * uris.length)] ?? '';
  }

  protected current(generation: number): boolean {
    return !this.stopped && generation === this.generation;
  }

  private setState(s: LinkState, error: string | null = null): void {
    this.state = s;
    this.error = error;
    this.since = new Date();
  }

  start(): void {
    void this.attempt();
  }

  private async attempt(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    const gen = ++this.generation;
    const uri = this.pickUri();
    this.uri = safeUri(uri);
    this.setState('starting');
    try {
      const ep = parseUpstreamUri(uri, this.vhost);
      this.endpoint = ep;
      // Kept only while this attempt is the current one: a stop or a failure meanwhile closes it.
      const down = await openAmqp(inProcess(this.vhost), this.connectionName, this.host);
      if (!this.current(gen)) return void closeQuietly(down);
      this.down = down;
      this.watch(down, gen, 'local');
      const up = await openAmqp(ep, this.connectionName, this.host);
      if (!this.current(gen)) return void closeQuietly(up);
      this.up = up;
      this.watch(up, gen, 'upstream');
      const props = (this.up as unknown as { connection: { serverProperties?: Record<string, unknown> } }).connection.serverProperties;
      const cluster = props?.['cluster_name'];
      this.upstreamCluster = typeof cluster === 'string' ? cluster : null;
      await this.setUp(gen);
      if (!this.current(gen)) throw new Error('stopped');
      const pipe = (this.down as unknown as { connection: { stream: { localPort: number } } }).connection.stream;
      this.localConnection = `127.0.0.1:${pipe.localPort} -> 127.0.0.1:0`;
      this.setState('running');
      this.log.info({ uri: this.uri }, 'federation link running');
    } catch (err) {
      if (this.current(gen)) this.fail(gen, err);
    }
  }

  /** Hooks a connection's and its channels' failures to fail(). */
  private watch(c: ChannelModel, gen: number, side: string): void {
    c.on('error', (err: Error) => this.fail(gen, err));
    c.on('close', (err?: Error) => this.fail(gen, err ?? new Error(`${side} connection closed`)));
  }

  /** A channel of this attempt: its failure fails the link. */
  protected watchChannel(ch: Channel, gen: number, what: string): void {
    ch.on('error', (err: Error) => this.fail(gen, err));
    ch.on('close', () => this.fail(gen, new Error(`${what} channel closed`)));
  }

  /** The downstream channel: in confirm mode for ack-mode on-confirm. */
  protected async openDownstreamChannel(gen: number): Promise<void> {
    const down = this.down!;
    this.dch = this.upstream.ackMode === 'on-confirm' ? await down.createConfirmChannel() : await down.createChannel();
    this.watchChannel(this.dch, gen, 'downstream');
  }

  /** Publishes downstream and settles upstream as the ack mode says (rabbit_federation_link_util:forward). */
  protected forward(gen: number, m: ConsumeMessage, exchange: string, routingKey: string, options: Options.Publish): void {
    const ch = this.ch!;
    const dch = this.dch!;
    switch (this.upstream.ackMode) {
      case 'on-confirm':
        (dch as ConfirmChannel).publish(exchange, routingKey, m.content, options, (err) => {
          if (!this.current(gen)) return;
          if (err === null || err === undefined) ch.ack(m);
          else ch.nack(m, false, true);
        });
        return;
      case 'on-publish':
        dch.publish(exchange, routingKey, m.content, options);
        ch.ack(m);
        return;
      case 'no-ack':
        dch.publish(exchange, routingKey, m.content, options);
    }
  }

  /** The running attempt failed: close everything, then try again after the reconnect delay. */
  protected fail(gen: number, err: unknown): void {
    if (!this.current(gen)) return;
    this.generation++;
    const text = errorText(err);
    this.setState('error', text);
    this.localConnection = null;
    this.log.warn({ err: text, uri: this.uri, reconnectDelay: this.upstream.reconnectDelay }, 'federation link failed; restarting after the reconnect delay');
    this.reset();
    void this.closeConnections();
    this.timer = setTimeout(() => void this.attempt(), Math.max(MIN_RETRY_MS, this.upstream.reconnectDelay * 1000));
    this.timer.unref();
  }

  /**
   * Stops for good: `cleanUp` (the policy or upstream went, or the resource was deleted)
   * removes what the link made upstream, as RabbitMQ's link does on a clean shutdown.
   */
  async stop(cleanUp: boolean): Promise<void> {
    if (this.stopped) return;
    const running = this.state === 'running';
    this.stopped = true;
    this.generation++;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.reset();
    if (cleanUp && running && this.upstream.resourceCleanupMode !== 'never') {
      try {
        await this.cleanUp();
      } catch (err) {
        this.log.warn({ err: errorText(err) }, 'federation link could not clean up upstream');
      }
    }
    await this.closeConnections();
    this.log.info({ uri: this.uri }, 'federation link stopped');
  }

  private async closeConnections(): Promise<void> {
    const conns = [this.up, this.down];
    this.up = null;
    this.down = null;
    for (const c of conns) if (c !== null) await closeQuietly(c);
  }
}

/** RabbitMQ's MAX_CONNECTION_CLOSE_TIMEOUT: a peer that does not answer close is cut off. */
const CLOSE_TIMEOUT_MS = 10_000;

async function closeQuietly(c: ChannelModel): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const cutOff = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      resolve();
    }, CLOSE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    await Promise.race([c.close(), cutOff]);
  } catch {
    // Already closed.
  } finally {
    clearTimeout(timer);
  }
}

/** The in-process endpoint of a link's own vhost: no host, no user (the broker's own user). */
function inProcess(vhost: string): UpstreamEndpoint {
  return {
    uri: 'amqp://',
    safe: 'amqp://',
    local: true,
    tls: false,
    host: '',
    port: 0,
    vhost,
    username: null,
    password: null,
    heartbeat: 0,
    connectionTimeout: 60000,
    channelMax: 0,
    frameMax: 0,
    mechanisms: ['PLAIN'],
    tlsOptions: {},
  };
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The delivered message's properties as publish options, with new headers; user_id dropped unless trusted. */
export function publishOptions(p: ConsumeMessage['properties'], trustUserId: boolean, headers: Record<string, unknown>): Options.Publish {
  const o: Options.Publish = { headers };
  if (p.contentType !== undefined) o.contentType = p.contentType as string;
  if (p.contentEncoding !== undefined) o.contentEncoding = p.contentEncoding as string;
  if (p.deliveryMode !== undefined) o.deliveryMode = p.deliveryMode as number;
  if (p.priority !== undefined) o.priority = p.priority as number;
  if (p.correlationId !== undefined) o.correlationId = p.correlationId as string;
  if (p.replyTo !== undefined) o.replyTo = p.replyTo as string;
  if (p.expiration !== undefined) o.expiration = p.expiration as string;
  if (p.messageId !== undefined) o.messageId = p.messageId as string;
  if (p.timestamp !== undefined) o.timestamp = p.timestamp as number;
  if (p.type !== undefined) o.type = p.type as string;
  if (p.appId !== undefined) o.appId = p.appId as string;
  if (trustUserId && p.userId !== undefined) o.userId = p.userId as string;
  return o;
}
