/**
 * What a scenario gets to work with: unique names, lazily opened connections and
 * recording channels, consumers, and the event log. Everything it creates is tracked so
 * that the runner can delete it afterwards, whatever happened.
 */
import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';
import { Ch, type Consumer } from './client.js';
import { onServerClose } from './raw.js';
import { restrictedUrl } from './recorded.js';
import type { Event } from './types.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Ctx {
  readonly events: Event[] = [];
  /** Random, lowercase, in every name this run creates; the normaliser removes it. */
  readonly token = randomBytes(6).toString('hex');
  /** Prefix of every name: `cx<token>.`; `n('q')` is `cx<token>.q`, normalised back to `q`. */
  readonly prefix = `cx${this.token}.`;
  /** Names to delete afterwards (as queues and as exchanges). */
  readonly created = new Set<string>();
  private readonly conns = new Map<string, Promise<ChannelModel>>();
  private readonly consumers: Consumer[] = [];
  private chanCount = 0;

  constructor(readonly url: string) {}

  log(e: Event): void {
    this.events.push(e);
  }

  /** A unique name for an object this scenario creates; deleted at the end. */
  n(base: string): string {
    const name = base.startsWith('amq.') ? `amq.${this.prefix}${base.slice(4)}` : `${this.prefix}${base}`;
    this.created.add(name);
    return name;
  }

  /** Registers a server-named queue for deletion. */
  track(name: string): void {
    this.created.add(name);
  }

  addConsumer(c: Consumer): void {
    this.consumers.push(c);
  }

  /** Connections (by label) opened as the restricted user of compat/users.json. */
  private readonly restricted = new Set<string>();

  /** Connection `label` will log in as the restricted user (call before using it). */
  asRestricted(label: string): void {
    this.restricted.add(label);
  }

  /** The connection with this label, opened on first use; its connection.close is logged. */
  connection(label = 'c'): Promise<ChannelModel> {
    let p = this.conns.get(label);
    if (p === undefined) {
      p = amqp.connect(this.restricted.has(label) ? restrictedUrl(this.url) : this.url).then((model) => {
        onServerClose(model, (c) => this.log({ conn: label, closed: { ...c } }));
        model.on('error', () => {});
        return model;
      });
      this.conns.set(label, p);
    }
    return p;
  }

  /** A recording channel on connection `conn` (default `c`). */
  async channel(label = `ch${++this.chanCount}`, conn = 'c'): Promise<Ch> {
    const model = await this.connection(conn);
    return new Ch(this, label, await model.createChannel(), false);
  }

  /** A recording channel in confirm mode. */
  async confirmChannel(label = `ch${++this.chanCount}`, conn = 'c'): Promise<Ch> {
    const model = await this.connection(conn);
    return new Ch(this, label, await model.createConfirmChannel(), true);
  }

  /** Closes connection `label` from the client side (exclusive queues go with it). */
  async closeConnection(label = 'c'): Promise<void> {
    const p = this.conns.get(label);
    if (p === undefined) return;
    this.conns.delete(label);
    try {
      await (await p).close();
      this.log({ conn: label, op: 'connection.close' });
    } catch (err) {
      this.log({ conn: label, op: 'connection.close', fail: String((err as Error).message) });
    }
  }

  /** Waits (up to `timeoutMs`) for `n` more deliveries to `c`, then logs exactly those. */
  async expect(c: Consumer, n: number, timeoutMs = 3000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (c.msgs.length < n && Date.now() < end) await sleep(5);
    this.log({ consumer: c.label, got: c.msgs.splice(0, n) });
  }

  /** Waits (up to `timeoutMs`) for the broker to cancel `c`, and logs whether it did. */
  async expectCancel(c: Consumer, timeoutMs = 2000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!c.cancelled && Date.now() < end) await sleep(5);
    this.log({ consumer: c.label, cancelled: c.cancelled });
  }

  /** For TTL scenarios: wall-clock waits, always generous compared with the TTLs used. */
  wait(ms: number): Promise<void> {
    return sleep(ms);
  }

  /** Logs deliveries nobody expected, then closes every connection. */
  async finish(): Promise<void> {
    if (this.consumers.length > 0) {
      await sleep(40);
      for (const c of this.consumers) if (c.msgs.length > 0) this.log({ consumer: c.label, unexpected: c.msgs.splice(0) });
    }
    for (const [label, p] of this.conns) {
      this.conns.delete(label);
      try {
        const model = await p;
        await Promise.race([model.close(), sleep(2000)]);
      } catch {
        // already closed by the server, or never opened
      }
    }
  }
}
