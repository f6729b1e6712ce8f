/**
 * The publishing side of one connection: one channel, an optional confirm window,
 * an optional rate. Each message is a pre-encoded template (method, header and
 * body frames) copied into the output slab with the send time patched into the
 * first 8 body bytes and the publisher's index in the next 4; large messages are
 * written as a fresh prefix plus a shared, never-modified tail, so a 1 MiB body is
 * not copied at all. With an in-flight bound, publishing stops while the publisher
 * has that many messages not yet delivered (see flight.ts).
 */
import { beginFrame, beginMethod, endFrame } from '../../amqp/frame-writer.js';
import { FRAME_BODY, FRAME_HEADER } from '../../amqp/generated/constants.js';
import { encodeBasicPublish } from '../../amqp/generated/methods.js';
import { writeProperties } from '../../amqp/generated/properties.js';
import { Writer } from '../../amqp/writer.js';
import { BenchClient, parseUrl, type ClientHandler } from './client.js';
import { now } from './clock.js';
import { PUBLISHER_INDEX_AT, type FlightGauge } from './flight.js';

export interface PublisherSpec {
  exchange: string;
  /** Routing keys used in turn (one template each). */
  routingKeys: string[];
  bodySize: number;
  persistent: boolean;
  /** Outstanding unconfirmed messages allowed; 0 = no confirms. */
  confirm: number;
  /** Messages per second for this publisher; 0 = as fast as possible. */
  rate: number;
  /** Stop after this many messages; 0 = until stopped. */
  count: number;
  /** This publisher's number in the run, written into each body (bytes 8–11) for the in-flight bound. */
  index?: number | undefined;
}

export interface PubCounters {
  published: number;
  publishedBytes: number;
  confirmed: number;
  nacked: number;
}

const CHANNEL = 1;
/** Messages at least this large are sent as prefix + shared tail instead of being copied. */
const ZERO_COPY_AT = 16 * 1024;
/** Bytes written per event-loop turn before yielding to I/O. */
const TURN_BYTES = 256 * 1024;

interface Template {
  buf: Buffer;
  /** Offset of the first body byte (where the timestamp goes), or -1 for bodies under 8 bytes. */
  tsAt: number;
}

/** Encodes basic.publish + header + body frames for one routing key. */
export function buildTemplate(spec: PublisherSpec, routingKey: string, frameMax: number): Template {
  const w = new Writer(4096);
  let at = beginMethod(w, CHANNEL);
  encodeBasicPublish(w, spec.exchange, routingKey, false, false);
  endFrame(w, at);
  at = beginFrame(w, FRAME_HEADER, CHANNEL);
  w.u16(60);
  w.u16(0);
  w.u64(spec.bodySize);
  writeProperties(w, spec.persistent ? { deliveryMode: 2 } : {});
  endFrame(w, at);
  let tsAt = -1;
  const chunk = frameMax - 8;
  for (let off = 0; off < spec.bodySize; off += chunk) {
    const n = Math.min(chunk, spec.bodySize - off);
    at = beginFrame(w, FRAME_BODY, CHANNEL);
    if (off === 0 && spec.bodySize >= 8) tsAt = w.pos;
    w.ensure(n);
    w.buf.fill(0x61, w.pos, w.pos + n);
    if (off === 0 && n >= PUBLISHER_INDEX_AT + 4) w.buf.writeUInt32BE(spec.index ?? 0, w.pos + PUBLISHER_INDEX_AT);
    w.pos += n;
    endFrame(w, at);
  }
  return { buf: w.take(), tsAt };
}

export class Publisher implements ClientHandler {
  readonly client: BenchClient;
  readonly c: PubCounters = { published: 0, publishedBytes: 0, confirmed: 0, nacked: 0 };
  private templates: Template[] = [];
  private next = 0;
  private running = false;
  private scheduled = false;
  private waitingDrain = false;
  /** At the in-flight bound: parked until a consumer frees a slot. */
  private waitingFlight = false;
  private readonly flightSlot: number;
  private startedAt = 0;
  /** Confirm tracking: ring of flags for tags in [low, published]. */
  private ring = new Uint8Array(0);
  private low = 1;
  private outstanding = 0;
  private doneWaiter: (() => void) | null = null;
  error: Error | null = null;

  constructor(
    url: string,
    readonly spec: PublisherSpec,
    /** The in-flight bound shared with the consumers; null = unbounded. */
    private readonly flight: FlightGauge | null = null,
  ) {
    this.flightSlot = spec.index ?? 0;
    this.client = new BenchClient(parseUrl(url), this);
    this.client.onDrainHook = () => {
      this.waitingDrain = false;
      this.schedule();
    };
  }

  async open(name: string): Promise<void> {
    await this.client.open(name);
    await this.client.openChannel(CHANNEL);
    if (this.spec.confirm > 0) {
      await this.client.confirmSelect(CHANNEL);
      let size = 1;
      while (size < this.spec.confirm * 2) size <<= 1;
      this.ring = new Uint8Array(size);
    }
    this.templates = this.spec.routingKeys.map((k) => buildTemplate(this.spec, k, this.client.frameMax));
  }

  start(): void {
    this.running = true;
    this.startedAt = now();
    this.schedule();
  }

  /** Stops publishing; resolves once every published message is confirmed (or after timeoutMs). */
  async stop(timeoutMs = 5000): Promise<void> {
    this.running = false;
    if (this.spec.confirm === 0 || this.outstanding === 0 || this.client.closed) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.doneWaiter = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Resolves when `count` messages have been sent (and confirmed, with confirms on). */
  finished(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const done = this.c.published >= this.spec.count && (this.spec.confirm === 0 || this.outstanding === 0);
        if (done || this.client.closed) resolve();
        else setTimeout(check, 20);
      };
      check();
    });
  }

  private schedule(): void {
    if (this.scheduled || !this.running || this.waitingFlight) return;
    this.scheduled = true;
    setImmediate(pumpPublisher, this);
  }

  /** One turn: write up to TURN_BYTES of messages, then flush once. */
  pump(): void {
    this.scheduled = false;
    if (!this.running || this.waitingDrain || this.client.closed) return;
    const spec = this.spec;
    const w = this.client.writer;
    let allowed = Infinity;
    if (spec.rate > 0) {
      allowed = Math.floor(((now() - this.startedAt) * spec.rate) / 1000) + 1 - this.c.published;
      if (allowed <= 0) {
        setTimeout(pumpPublisher, 1, this);
        this.scheduled = true;
        return;
      }
    }
    if (spec.count > 0) allowed = Math.min(allowed, spec.count - this.c.published);
    const window = spec.confirm;
    let bytes = 0;
    let sent = 0;
    const templates = this.templates;
    const socket = this.client.socket;
    const flight = this.flight;
    while (bytes < TURN_BYTES && sent < allowed) {
      if (window > 0 && this.outstanding >= window) break;
      if (flight !== null && !flight.take(this.flightSlot)) {
        this.waitingFlight = true;
        flight.whenFree(this.flightSlot, this, wakePublisher);
        break;
      }
      const t = templates[this.next]!;
      if (++this.next === templates.length) this.next = 0;
      const len = t.buf.length;
      if (len < ZERO_COPY_AT) {
        w.ensure(len);
        const p = w.pos;
        t.buf.copy(w.buf, p);
        if (t.tsAt >= 0) w.buf.writeDoubleBE(now(), p + t.tsAt);
        w.pos = p + len;
      } else {
        // Prefix (frames up to and including the timestamp) from the slab, the rest shared.
        const cut = t.tsAt >= 0 ? t.tsAt + 8 : 0;
        w.ensure(cut);
        t.buf.copy(w.buf, w.pos, 0, cut);
        if (t.tsAt >= 0) w.buf.writeDoubleBE(now(), w.pos + t.tsAt);
        w.pos += cut;
        socket.write(w.detach());
        socket.write(t.buf.subarray(cut));
      }
      bytes += len;
      sent++;
      this.c.published++;
      this.c.publishedBytes += spec.bodySize;
      if (window > 0) {
        this.outstanding++;
        this.ring[this.c.published & (this.ring.length - 1)] = 0;
      }
    }
    const ok = this.client.flush();
    if (!ok) {
      this.waitingDrain = true;
      return;
    }
    if (spec.count > 0 && this.c.published >= spec.count) return;
    if (window > 0 && this.outstanding >= window) return; // resumed by onConfirm
    this.schedule(); // (not while waitingFlight: resumed by wakePublisher)
  }

  /** A consumer freed an in-flight slot. */
  flightFreed(): void {
    this.waitingFlight = false;
    this.schedule();
  }

  onConfirm(_ch: number, tag: number, multiple: boolean, nack: boolean): void {
    const mask = this.ring.length - 1;
    if (mask < 0) return;
    let newly = 0;
    if (multiple) {
      for (let t = this.low; t <= tag; t++) {
        if (this.ring[t & mask] === 0) {
          this.ring[t & mask] = 1;
          newly++;
        }
      }
    } else if (tag >= this.low && this.ring[tag & mask] === 0) {
      this.ring[tag & mask] = 1;
      newly = 1;
    }
    while (this.low <= this.c.published && this.ring[this.low & mask] === 1) this.low++;
    this.outstanding -= newly;
    if (nack) this.c.nacked += newly;
    else this.c.confirmed += newly;
    if (this.outstanding === 0 && this.doneWaiter !== null) {
      const d = this.doneWaiter;
      this.doneWaiter = null;
      d();
    }
    if (this.running && this.outstanding < this.spec.confirm) this.schedule();
  }

  onMessage(): void {}

  onClose(err: Error | null): void {
    if (err !== null && this.running) this.error = err;
    this.running = false;
    this.doneWaiter?.();
  }

  close(): Promise<void> {
    this.running = false;
    return this.client.close();
  }
}

function pumpPublisher(p: Publisher): void {
  p.pump();
}

function wakePublisher(p: Publisher): void {
  p.flightFreed();
}
