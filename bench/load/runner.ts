/**
 * Runs one throughput/latency plan: sets up the topology on a control connection,
 * spreads publishers and consumers over worker threads, starts them together,
 * samples counters once a second (printing a progress line), and after the
 * duration stops the publishers, lets consumers drain briefly, and tears down.
 * Rates are computed over the window after warm-up.
 */
import { Worker } from 'node:worker_threads';
import { BenchClient, parseUrl } from './client.js';
import { now, sleep } from './clock.js';
import type { ConsumerSpec } from './consumer.js';
import { FlightGauge } from './flight.js';
import type { PublisherSpec } from './publisher.js';
import { ProcMonitor, type ProcSummary } from './rss.js';
import { Histogram, summarize, type LatencySummary } from './stats.js';
import { BenchWorker, type FromWorker, type Sample, type ToWorker, type WorkerSpec } from './worker.js';

export interface RunPlan {
  url: string;
  publishers: PublisherSpec[];
  consumers: ConsumerSpec[];
  /** Seconds of measurement, warm-up included. */
  duration: number;
  /** Seconds at the start that do not count. */
  warmup: number;
  /** Worker threads for publishers / consumers; 0 runs them in this thread. */
  pubThreads: number;
  conThreads: number;
  /** Each published message is expected to be consumed this many times (fanout); 0 = not consumed. */
  fanout: number;
  /** How long to wait after stopping publishers for consumers to catch up. */
  drainTimeout: number;
  /** Messages each publisher may have published but not yet delivered (needs fanout > 0); 0 = unbounded. */
  inFlight?: number | undefined;
  setup: (c: BenchClient) => Promise<void>;
  teardown: (c: BenchClient) => Promise<void>;
  pid?: number | undefined;
  progress?: ((line: ProgressSample) => void) | undefined;
}

export interface ProgressSample {
  elapsed: number;
  publishRate: number;
  consumeRate: number;
  consumeBytesRate: number;
  p99: number;
  rss?: number | undefined;
  cpu?: number | undefined;
}

export interface Counts {
  published: number;
  publishedBytes: number;
  confirmed: number;
  nacked: number;
  consumed: number;
  consumedBytes: number;
  /** Most messages of one publisher seen in flight (with an in-flight bound; 0 otherwise). */
  inFlightMax: number;
}

export interface RunResult {
  /** Seconds the rates are measured over. */
  seconds: number;
  rates: { publish: number; confirm: number; consume: number; consumeBytes: number; publishBytes: number };
  latency: LatencySummary;
  /** Final counts after the drain. */
  totals: Counts;
  drained: boolean;
  broker: ProcSummary | null;
  /** CPU used by this load generator (all its threads) over the window, in % of one core. */
  clientCpuPercent: number;
  errors: string[];
}

interface Link {
  post(m: ToWorker): void;
  onMessage: (m: FromWorker) => void;
  terminate(): Promise<void>;
}

function threadLink(spec: WorkerSpec): Link {
  const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { warrenBench: true, spec } });
  const link: Link = {
    post: (m) => w.postMessage(m),
    onMessage: () => {},
    terminate: async () => {
      await w.terminate();
    },
  };
  w.on('message', (m: FromWorker) => link.onMessage(m));
  w.on('error', (err) => link.onMessage({ t: 'fatal', message: err.message }));
  return link;
}

function inlineLink(spec: WorkerSpec): Link {
  const link: Link = {
    post: (m) => setImmediate(() => bw.handle(m)),
    onMessage: () => {},
    terminate: async () => {},
  };
  const bw = new BenchWorker(spec, (m) => setImmediate(() => link.onMessage(m)));
  return link;
}

/** Splits items round-robin into n groups (at least one group when there are items). */
function split<T>(items: T[], n: number): T[][] {
  const groups: T[][] = Array.from({ length: Math.max(1, Math.min(n, items.length)) }, () => []);
  items.forEach((x, i) => groups[i % groups.length]!.push(x));
  return items.length === 0 ? [] : groups;
}

class Group {
  private waiters = new Map<string, { n: number; resolve: () => void; reject: (e: Error) => void }>();
  private samples = new Map<number, { left: number; acc: Sample[]; resolve: (s: Sample[]) => void }>();
  private nextId = 1;

  constructor(readonly links: Link[]) {
    for (const l of links) l.onMessage = (m) => this.onMessage(m);
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'sample') {
      const s = this.samples.get(m.id);
      if (s === undefined) return;
      s.acc.push(m);
      if (--s.left === 0) {
        this.samples.delete(m.id);
        s.resolve(s.acc);
      }
      return;
    }
    if (m.t === 'fatal') {
      for (const w of this.waiters.values()) w.reject(new Error(m.message));
      this.waiters.clear();
      return;
    }
    const w = this.waiters.get(m.t);
    if (w !== undefined && --w.n === 0) {
      this.waiters.delete(m.t);
      w.resolve();
    }
  }

  /** Posts a command to every worker and waits for each to answer with `reply`. */
  all(cmd: ToWorker, reply: 'ready' | 'stopped' | 'closed', to: Link[] = this.links, timeoutMs = 60000): Promise<void> {
    if (to.length === 0) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for workers to be ${reply}`)), timeoutMs);
      this.waiters.set(reply, {
        n: to.length,
        resolve: () => (clearTimeout(t), resolve()),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
    });
    for (const l of to) l.post(cmd);
    return p;
  }

  post(cmd: ToWorker): void {
    for (const l of this.links) l.post(cmd);
  }

  sample(): Promise<Sample[]> {
    if (this.links.length === 0) return Promise.resolve([]);
    const id = this.nextId++;
    const p = new Promise<Sample[]>((resolve) => this.samples.set(id, { left: this.links.length, acc: [], resolve }));
    for (const l of this.links) l.post({ t: 'sample', id });
    return p;
  }

  terminate(): Promise<unknown> {
    return Promise.all(this.links.map((l) => l.terminate()));
  }
}

function total(samples: Sample[]): Counts {
  const c: Counts = { published: 0, publishedBytes: 0, confirmed: 0, nacked: 0, consumed: 0, consumedBytes: 0, inFlightMax: 0 };
  for (const s of samples) {
    c.published += s.pub.published;
    c.publishedBytes += s.pub.publishedBytes;
    c.confirmed += s.pub.confirmed;
    c.nacked += s.pub.nacked;
    c.consumed += s.con.consumed;
    c.consumedBytes += s.con.consumedBytes;
    c.inFlightMax = Math.max(c.inFlightMax, s.con.inFlightMax);
  }
  return c;
}

export async function runPlan(plan: RunPlan): Promise<RunResult> {
  const inFlight = plan.inFlight ?? 0;
  if (inFlight > 0 && plan.fanout === 0) throw new Error('--in-flight needs consumers that receive every message');
  const flight = inFlight > 0 ? { buffer: FlightGauge.buffer(plan.publishers.length), limit: inFlight, fanout: plan.fanout } : undefined;
  const ctl = new BenchClient(parseUrl(plan.url));
  await ctl.open('bench-control');
  await ctl.openChannel(1);
  await plan.setup(ctl);
  const mk = (kind: 'pub' | 'con', threads: number, base: number): Link[] => {
    const items = kind === 'pub' ? plan.publishers : plan.consumers;
    return split<PublisherSpec | ConsumerSpec>(items, threads === 0 ? 1 : threads).map((g, i) => {
      const spec: WorkerSpec = {
        id: base + i,
        url: plan.url,
        publishers: kind === 'pub' ? (g as PublisherSpec[]) : [],
        consumers: kind === 'con' ? (g as ConsumerSpec[]) : [],
        flight,
      };
      return threads === 0 ? inlineLink(spec) : threadLink(spec);
    });
  };
  const cons = mk('con', plan.conThreads, 100);
  const pubs = mk('pub', plan.pubThreads, 200);
  const everyone = new Group([...cons, ...pubs]);
  const monitor = plan.pid !== undefined ? new ProcMonitor(plan.pid) : null;
  const hist = new Histogram();
  const errors = new Set<string>();
  const take = (ss: Sample[], keepHist: boolean): Counts => {
    for (const s of ss) {
      if (keepHist) hist.add(s.hist);
      for (const e of s.errors) errors.add(e);
    }
    return total(ss);
  };
  try {
    await everyone.all({ t: 'open' }, 'ready', cons);
    await everyone.all({ t: 'open' }, 'ready', pubs);
    monitor?.start();
    const t0 = now();
    everyone.post({ t: 'start' });
    let base: Counts = take(await everyone.sample(), false);
    let prev = base;
    let prevAt = t0;
    let baseAt = t0;
    let cpuBase = process.cpuUsage();
    let warm = plan.warmup <= 0;
    const window = new Histogram();
    for (let tick = 1; ; tick++) {
      const target = t0 + tick * 1000;
      const end = t0 + plan.duration * 1000;
      await sleep(Math.max(0, Math.min(target, end) - now()));
      const ss = await everyone.sample();
      const at = now();
      for (const s of ss) window.add(s.hist);
      const cur = take(ss, warm);
      const dt = (at - prevAt) / 1000;
      const proc = monitor?.poll() ?? null;
      plan.progress?.({
        elapsed: (at - t0) / 1000,
        publishRate: (cur.published - prev.published) / dt,
        consumeRate: (cur.consumed - prev.consumed) / dt,
        consumeBytesRate: (cur.consumedBytes - prev.consumedBytes) / dt,
        p99: window.percentile(99) / 1000,
        rss: proc?.rss,
      });
      window.reset();
      prev = cur;
      prevAt = at;
      if (!warm && at - t0 >= plan.warmup * 1000) {
        warm = true;
        base = cur;
        baseAt = at;
        cpuBase = process.cpuUsage();
        monitor?.mark();
      }
      if (at >= end - 1) break;
    }
    const measured = prev;
    const seconds = (prevAt - baseAt) / 1000;
    const cpu = process.cpuUsage(cpuBase);
    const clientCpuPercent = seconds > 0 ? Math.round((cpu.user + cpu.system) / 1e4 / seconds) : 0;
    const broker = monitor?.stop() ?? null;
    await everyone.all({ t: 'stop' }, 'stopped', pubs);
    // Let consumers catch up with what was published (bounded).
    let final = take(await everyone.sample(), false);
    const deadline = now() + plan.drainTimeout * 1000;
    while (plan.fanout > 0 && final.consumed < final.published * plan.fanout && now() < deadline) {
      await sleep(50);
      final = take(await everyone.sample(), false);
    }
    const rate = (a: number, b: number) => (seconds > 0 ? (a - b) / seconds : 0);
    return {
      seconds,
      rates: {
        publish: rate(measured.published, base.published),
        confirm: rate(measured.confirmed, base.confirmed),
        consume: rate(measured.consumed, base.consumed),
        consumeBytes: rate(measured.consumedBytes, base.consumedBytes),
        publishBytes: rate(measured.publishedBytes, base.publishedBytes),
      },
      latency: summarize(hist),
      totals: final,
      drained: plan.fanout > 0 && final.consumed >= final.published * plan.fanout,
      broker,
      clientCpuPercent,
      errors: [...errors],
    };
  } finally {
    await everyone.all({ t: 'close' }, 'closed', everyone.links, 10000).catch(() => undefined);
    await everyone.terminate();
    await plan.teardown(ctl).catch(() => undefined);
    await ctl.close();
  }
}
