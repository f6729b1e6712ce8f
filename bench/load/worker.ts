/**
 * A group of publishers and consumers driven by the runner, either in a worker
 * thread (the default, so the client side spreads over cores) or inline in the
 * calling thread (tests, debugging). The runner talks to it with small messages:
 * start, sample (cumulative counters and the latency histogram since the last
 * sample), stop (publishers only; waits for outstanding confirms) and close.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Consumer, type ConCounters, type ConsumerSpec } from './consumer.js';
import { FlightGauge } from './flight.js';
import { Publisher, type PubCounters, type PublisherSpec } from './publisher.js';
import { Histogram, type HistogramSnapshot } from './stats.js';

export interface WorkerSpec {
  id: number;
  url: string;
  publishers: PublisherSpec[];
  consumers: ConsumerSpec[];
  /** The in-flight bound, shared by every worker of the run (--in-flight); absent = unbounded. */
  flight?: { buffer: SharedArrayBuffer; limit: number; fanout: number } | undefined;
}

export type ToWorker = { t: 'open' } | { t: 'start' } | { t: 'sample'; id: number } | { t: 'stop' } | { t: 'close' };

export interface Sample {
  pub: PubCounters;
  con: ConCounters;
  hist: HistogramSnapshot;
  errors: string[];
}

export type FromWorker =
  | { t: 'ready' }
  | { t: 'fatal'; message: string }
  | ({ t: 'sample'; id: number } & Sample)
  | { t: 'stopped' }
  | { t: 'closed' };

export class BenchWorker {
  private readonly pubs: Publisher[];
  private readonly cons: Consumer[];
  private readonly hist = new Histogram();

  constructor(
    readonly spec: WorkerSpec,
    private readonly send: (m: FromWorker) => void,
  ) {
    const f = spec.flight;
    const gauge = f !== undefined ? new FlightGauge(f.buffer, f.limit, f.fanout) : null;
    this.pubs = spec.publishers.map((p) => new Publisher(spec.url, p, gauge));
    this.cons = spec.consumers.map((c) => new Consumer(spec.url, c, this.hist, undefined, gauge));
  }

  handle(m: ToWorker): void {
    switch (m.t) {
      case 'open':
        this.open().then(
          () => this.send({ t: 'ready' }),
          (err: Error) => this.send({ t: 'fatal', message: err.message }),
        );
        return;
      case 'start':
        for (const p of this.pubs) p.start();
        return;
      case 'sample':
        this.send({ t: 'sample', id: m.id, ...this.sample() });
        return;
      case 'stop':
        Promise.all(this.pubs.map((p) => p.stop())).then(() => this.send({ t: 'stopped' }));
        return;
      case 'close':
        Promise.all([...this.pubs.map((p) => p.close()), ...this.cons.map((c) => c.close())]).then(
          () => this.send({ t: 'closed' }),
          () => this.send({ t: 'closed' }),
        );
        return;
    }
  }

  private async open(): Promise<void> {
    const id = this.spec.id;
    await Promise.all([
      ...this.cons.map((c, i) => c.open(`bench-w${id}-consumer-${i}`)),
      ...this.pubs.map((p, i) => p.open(`bench-w${id}-publisher-${i}`)),
    ]);
  }

  private sample(): Sample {
    const pub: PubCounters = { published: 0, publishedBytes: 0, confirmed: 0, nacked: 0 };
    const con: ConCounters = { consumed: 0, consumedBytes: 0, inFlightMax: 0 };
    const errors: string[] = [];
    for (const p of this.pubs) {
      pub.published += p.c.published;
      pub.publishedBytes += p.c.publishedBytes;
      pub.confirmed += p.c.confirmed;
      pub.nacked += p.c.nacked;
      if (p.error !== null) errors.push(p.error.message);
    }
    for (const c of this.cons) {
      con.consumed += c.c.consumed;
      con.consumedBytes += c.c.consumedBytes;
      con.inFlightMax = Math.max(con.inFlightMax, c.c.inFlightMax);
      if (c.error !== null) errors.push(c.error.message);
    }
    const hist = this.hist.snapshot();
    this.hist.reset();
    return { pub, con, hist, errors };
  }
}

/** Thread entry: active only when started by the runner as a worker thread. */
if (!isMainThread && parentPort !== null && (workerData as { warrenBench?: boolean } | null)?.warrenBench === true) {
  const port = parentPort;
  const w = new BenchWorker((workerData as { spec: WorkerSpec }).spec, (m) => port.postMessage(m));
  port.on('message', (m: ToWorker) => w.handle(m));
}
