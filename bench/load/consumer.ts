/**
 * The consuming side of one connection: one channel, one basic.consume, no-ack or
 * manual ack (every N messages, `multiple` when N > 1). Records end-to-end latency
 * from the send time the publisher put in the first 8 body bytes.
 */
import { beginMethod, endFrame } from '../../amqp/frame-writer.js';
import { encodeBasicAck } from '../../amqp/generated/methods.js';
import type { FieldTable } from '../../amqp/table.js';
import { BenchClient, parseUrl, type ClientHandler } from './client.js';
import { now } from './clock.js';
import type { FlightGauge } from './flight.js';
import { Histogram } from './stats.js';

export interface ConsumerSpec {
  queue: string;
  noAck: boolean;
  /** basic.qos prefetch count; 0 = unlimited. */
  prefetch: number;
  /** Ack every N messages (with multiple=true when N > 1); ignored with noAck. */
  multiAckEvery: number;
  /** basic.consume arguments (a stream's x-stream-offset). */
  args?: FieldTable;
}

export interface ConCounters {
  consumed: number;
  consumedBytes: number;
  /** With an in-flight bound: the most messages of one publisher seen in flight at a delivery. */
  inFlightMax: number;
}

const CHANNEL = 1;

export class Consumer implements ClientHandler {
  readonly client: BenchClient;
  readonly c: ConCounters = { consumed: 0, consumedBytes: 0, inFlightMax: 0 };
  private unacked = 0;
  private lastTag = 0;
  private tag = '';
  error: Error | null = null;
  private closing = false;

  constructor(
    url: string,
    readonly spec: ConsumerSpec,
    /** Shared by every consumer of a worker. */
    readonly hist: Histogram,
    slabSize?: number,
    /** The in-flight bound shared with the publishers; null = unbounded. */
    private readonly flight: FlightGauge | null = null,
  ) {
    this.client = new BenchClient(parseUrl(url), this, slabSize);
  }

  async open(name: string): Promise<void> {
    await this.client.open(name);
    await this.client.openChannel(CHANNEL);
    if (!this.spec.noAck && this.spec.prefetch > 0) await this.client.qos(CHANNEL, this.spec.prefetch);
    this.tag = await this.client.consume(CHANNEL, this.spec.queue, this.spec.noAck, '', this.spec.args);
  }

  onMessage(_ch: number, deliveryTag: number, bodySize: number, sentAt: number, publisher: number): void {
    if (this.flight !== null) {
      const n = this.flight.release(publisher);
      if (n > this.c.inFlightMax) this.c.inFlightMax = n;
    }
    this.c.consumed++;
    this.c.consumedBytes += bodySize;
    if (sentAt === sentAt) this.hist.record((now() - sentAt) * 1000);
    if (this.spec.noAck) return;
    this.lastTag = deliveryTag;
    if (++this.unacked >= this.spec.multiAckEvery) this.ack();
  }

  private ack(): void {
    const w = this.client.writer;
    const at = beginMethod(w, CHANNEL);
    encodeBasicAck(w, this.lastTag, this.unacked > 1);
    endFrame(w, at);
    this.unacked = 0;
  }

  /** Acks what is left over at the end of a read (so a partial multi-ack batch never stalls prefetch). */
  onReadDone(): void {
    if (this.unacked > 0 && this.spec.multiAckEvery > 1) this.ack();
  }

  onConfirm(): void {}

  onClose(err: Error | null): void {
    if (err !== null && !this.closing) this.error = err;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (!this.client.closed && this.tag !== '') {
      await this.client.cancel(CHANNEL, this.tag).catch(() => undefined);
    }
    await this.client.close();
  }
}
