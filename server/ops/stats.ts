/**
 * Statistics counters: plain integers on the objects the hot path already touches
 * (channel, queue, exchange, connection, vhost, broker). Bumping one is an increment,
 * never an allocation or an event; the management plane reads them, and samples them on
 * a coarse timer for rates (server/http/sampler.ts).
 */

/** Message counters of a channel or a queue, under RabbitMQ's message_stats names. */
export class MessageCounters {
  /** basic.publish received (channel); messages enqueued (queue). */
  publish = 0;
  /** Publishes received on a channel in confirm mode. */
  publishConfirm = 0;
  /** Publishes routed to at least one queue. */
  routed = 0;
  /** Publishes acked to the publisher. */
  confirm = 0;
  /** Unroutable mandatory publishes, returned. */
  returnUnroutable = 0;
  /** Unroutable publishes without mandatory, dropped. */
  dropUnroutable = 0;
  /** basic.deliver to consumers with manual acks, and with no-ack. */
  deliver = 0;
  deliverNoAck = 0;
  /** basic.get-ok with manual acks, with no-ack; basic.get-empty. */
  get = 0;
  getNoAck = 0;
  getEmpty = 0;
  /** Deliveries (consume or get) with the redelivered flag. */
  redeliver = 0;
  /** basic.ack'ed deliveries. */
  ack = 0;

  add(o: MessageCounters): void {
    this.publish += o.publish;
    this.publishConfirm += o.publishConfirm;
    this.routed += o.routed;
    this.confirm += o.confirm;
    this.returnUnroutable += o.returnUnroutable;
    this.dropUnroutable += o.dropUnroutable;
    this.deliver += o.deliver;
    this.deliverNoAck += o.deliverNoAck;
    this.get += o.get;
    this.getNoAck += o.getNoAck;
    this.getEmpty += o.getEmpty;
    this.redeliver += o.redeliver;
    this.ack += o.ack;
  }
}

/** What a connection counts on its socket. */
export class ConnectionCounters {
  recvOct = 0;
  recvCnt = 0;
  sendOct = 0;
  sendCnt = 0;

  add(o: ConnectionCounters): void {
    this.recvOct += o.recvOct;
    this.recvCnt += o.recvCnt;
    this.sendOct += o.sendOct;
    this.sendCnt += o.sendCnt;
  }
}

/**
 * A vhost's counters: what its channels and connections counted before they closed (the
 * live ones are added when read, so totals never go down), queue churn and dead-lettering.
 */
export class VhostCounters {
  readonly closedChannels = new MessageCounters();
  readonly closedConnections = new ConnectionCounters();
  /** Messages published through the HTTP API (/exchanges/{vhost}/{name}/publish and /get). */
  readonly http = new MessageCounters();
  queueDeclared = 0;
  queueCreated = 0;
  queueDeleted = 0;
  /**
   * Dead-letterings by `queueType:reason:strategy` ('classic:expired:disabled',
   * 'quorum:rejected:at_least_once', 'quorum:confirmed:at_least_once', ...).
   */
  readonly deadLettered = new Map<string, number>();
  /** What deleted queues counted (deliveries, gets, acks, ...), by queue type: totals by type never go down. */
  readonly deletedQueues = new Map<string, MessageCounters>();

  /**
   * queueType: classic, quorum or stream; reason: why the message died (or 'confirmed': an
   * at-least-once dead letter every target has); strategy: at_most_once, at_least_once, or
   * disabled (no dead-letter exchange).
   */
  noteDeadLettered(queueType: string, reason: string, strategy: string): void {
    const key = `${queueType}:${reason}:${strategy}`;
    this.deadLettered.set(key, (this.deadLettered.get(key) ?? 0) + 1);
  }

  /** A queue of this type was deleted: its counters stay in the totals. */
  queueGone(queueType: string, counters: MessageCounters): void {
    let m = this.deletedQueues.get(queueType);
    if (m === undefined) this.deletedQueues.set(queueType, (m = new MessageCounters()));
    m.add(counters);
  }

  add(o: VhostCounters): void {
    this.closedChannels.add(o.closedChannels);
    this.closedConnections.add(o.closedConnections);
    this.http.add(o.http);
    this.queueDeclared += o.queueDeclared;
    this.queueCreated += o.queueCreated;
    this.queueDeleted += o.queueDeleted;
    for (const [k, n] of o.deadLettered) this.deadLettered.set(k, (this.deadLettered.get(k) ?? 0) + n);
    for (const [t, m] of o.deletedQueues) this.queueGone(t, m);
  }
}

/** Node-wide churn, and the counters of vhosts that were deleted. */
export class NodeCounters {
  connectionCreated = 0;
  connectionClosed = 0;
  channelCreated = 0;
  channelClosed = 0;
  /** Logins checked, by protocol: AMQP (connection.start-ok) and HTTP basic auth. */
  authAmqpSucceeded = 0;
  authAmqpFailed = 0;
  authHttpSucceeded = 0;
  authHttpFailed = 0;
  readonly deletedVhosts = new VhostCounters();
}
