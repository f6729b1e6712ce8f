/** `warren bench`: the commander definition, shared by the warren CLI and bench/main.ts. */
import { InvalidArgumentError, type Command } from 'commander';
import { parseQueueArgs, resolveOptions, SCENARIOS, type BenchOptions, type ScenarioName } from './options.js';
import { jsonResult, progressLine, summaryText } from './report.js';
import { runScenario, type ScenarioResult } from './scenarios.js';

function int(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return n;
  };
}

function num(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a non-negative number');
  return n;
}

interface Flags {
  url: string;
  scenario: string[];
  producers?: number;
  consumers?: number;
  queues?: number;
  size?: number;
  confirm?: number;
  prefetch?: number;
  multiAckEvery?: number;
  persistent?: boolean;
  durable?: boolean;
  rate?: number;
  inFlight?: number;
  duration?: number;
  warmup?: number;
  queueArgs?: string;
  exchangeType?: 'direct' | 'fanout' | 'topic';
  bindings?: number;
  count?: number;
  connections?: number;
  maxConnections?: number;
  pid?: number;
  pubThreads?: number;
  conThreads?: number;
  json?: boolean;
  quiet?: boolean;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('load generator: run scenarios S1–S11 (or a custom mix) against any AMQP URL')
    .option('-u, --url <url>', 'broker URL', 'amqp://guest:guest@127.0.0.1:5672')
    .option('-s, --scenario <names...>', `scenarios to run: ${SCENARIOS.join(' ')} (or "all"); none = custom`, [])
    .option('-x, --producers <n>', 'publishing connections', int(0))
    .option('-y, --consumers <n>', 'consuming connections', int(0))
    .option('--queues <n>', 'queues (consumers and producers spread over them)', int(1))
    .option('--size <bytes>', 'message body size', int(0))
    .option('-c, --confirm <window>', 'publisher confirms with this many outstanding (0 = off)', int(0))
    .option('-q, --prefetch <n>', 'manual ack with this prefetch (0 = no-ack consumers)', int(0))
    .option('--multi-ack-every <n>', 'ack every n messages with multiple=true', int(1))
    .option('--persistent', 'publish with delivery-mode 2')
    .option('--durable', 'declare durable queues')
    .option('-r, --rate <msg/s>', 'total publish rate (0 = unlimited)', num)
    .option('--in-flight <n>', 'each producer keeps at most n messages published but not yet consumed (0 = unbounded)', int(0))
    .option('-z, --duration <s>', 'seconds to run (warm-up included)', num)
    .option('--warmup <s>', 'seconds excluded from the figures', num)
    .option('--queue-args <json>', 'queue arguments as JSON, e.g. \'{"x-max-length":1000}\'')
    .option('--exchange-type <type>', 'direct (default exchange), fanout or topic')
    .option('--bindings <n>', 'topic bindings (S4)', int(0))
    .option('--count <n>', 'messages to queue (S6), in the stream (S11), or to publish per producer', int(0))
    .option('--connections <n>', 'connections to open (S7)', int(1))
    .option('--max-connections <n>', 'larger connection count to check (S7; 0 = skip)', int(0))
    .option('--pid <pid>', "broker process id: sample its RSS and CPU", int(1))
    .option('--pub-threads <n>', 'worker threads for producers (0 = main thread)', int(0))
    .option('--con-threads <n>', 'worker threads for consumers (0 = main thread)', int(0))
    .option('--json', 'print the results as JSON')
    .option('--quiet', 'no progress line')
    .action(async (flags: Flags) => {
      const results = await runBench(flags);
      if (results.some((r) => r.errors.length > 0)) process.exitCode = 1;
    });
}

/** Runs every requested scenario in turn and prints each result. */
export async function runBench(flags: Flags): Promise<ScenarioResult[]> {
  let names = flags.scenario.map((s) => s.toUpperCase());
  if (names.includes('ALL')) names = [...SCENARIOS];
  if (names.length === 0) names = ['custom'];
  const out: ScenarioResult[] = [];
  for (const name of names) {
    const given: Partial<BenchOptions> = {
      url: flags.url,
      scenario: (name === 'CUSTOM' ? 'custom' : name) as ScenarioName,
      producers: flags.producers,
      consumers: flags.consumers,
      queues: flags.queues,
      size: flags.size,
      confirm: flags.confirm,
      prefetch: flags.prefetch,
      multiAckEvery: flags.multiAckEvery,
      persistent: flags.persistent,
      durable: flags.durable,
      rate: flags.rate,
      inFlight: flags.inFlight,
      duration: flags.duration,
      warmup: flags.warmup,
      queueArgs: flags.queueArgs !== undefined ? parseQueueArgs(flags.queueArgs) : undefined,
      exchangeType: flags.exchangeType,
      bindings: flags.bindings,
      count: flags.count,
      connections: flags.connections,
      maxConnections: flags.maxConnections,
      pid: flags.pid,
      pubThreads: flags.pubThreads,
      conThreads: flags.conThreads,
      json: flags.json === true,
      quiet: flags.quiet === true,
    };
    const o = resolveOptions(given);
    const live = !o.json && !o.quiet;
    const tty = process.stderr.isTTY === true;
    const r = await runScenario(o, live ? (p) => process.stderr.write(tty ? `\r${progressLine(p)}\x1b[K` : `${progressLine(p)}\n`) : undefined);
    if (live && tty) process.stderr.write('\n');
    out.push(r);
    if (!o.json) console.log(summaryText(r));
  }
  if (flags.json === true) console.log(out.length === 1 ? jsonResult(out[0]!) : `[${out.map(jsonResult).join(',\n')}]`);
  return out;
}
