#!/usr/bin/env node
/**
 * bench/compare: every scenario, interleaved (Warren, RabbitMQ, Warren, RabbitMQ, …)
 * for several rounds, against a Warren started from the build and a private
 * RabbitMQ node on the same machine; prints medians and the Warren/RabbitMQ ratio.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/compare.js --rounds 3 --duration 10
 *
 * Each bench run is a separate `node dist/bench/main.js --json` process.
 */
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { startRabbit, startWarren, type RunningBroker } from './brokers.js';
import { SCENARIOS } from './options.js';
import { formatValue } from './report.js';
import type { ScenarioResult } from './scenarios.js';
import { median } from './load/stats.js';

const FRESH = new Set(['S6', 'S7']);
const NO_IN_FLIGHT = new Set(['S4', 'S6', 'S7', 'S11']);
const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

interface Opts {
  rounds: number;
  duration: number;
  scenarios: string;
  warrenPort: number;
  rabbitPort: number;
  rabbitDistPort: number;
  s6Count: number;
  s11Count: number;
  s7Connections: number;
  s7Max: number;
  inFlight?: number;
  warrenEnv: string[];
  out?: string;
  cpuProf?: string;
  keep?: boolean;
}

/** The figures compared for each scenario: the headline plus a few secondary ones. */
const EXTRA: Record<string, { key: string; unit: string; higherIsBetter: boolean }[]> = {
  S1: [{ key: 'publishRate', unit: 'msg/s', higherIsBetter: true }],
  S2: [{ key: 'confirmRate', unit: 'msg/s', higherIsBetter: true }],
  S3: [{ key: 'publishRate', unit: 'msg/s', higherIsBetter: true }],
  S5: [
    { key: 'p50ms', unit: 'ms', higherIsBetter: false },
    { key: 'maxms', unit: 'ms', higherIsBetter: false },
  ],
  S6: [
    { key: 'fillRate', unit: 'msg/s', higherIsBetter: true },
    { key: 'drainRate', unit: 'msg/s', higherIsBetter: true },
    { key: 'rssLeftAfterDrain', unit: 'B', higherIsBetter: false },
  ],
  S7: [
    { key: 'rssPerConnectionAtMax', unit: 'B', higherIsBetter: false },
    { key: 'maxConnectionsOk', unit: 'ok', higherIsBetter: true },
  ],
  S11: [{ key: 'fillRate', unit: 'msg/s', higherIsBetter: true }],
};

function benchOnce(url: string, pid: number, scenario: string, o: Opts): Promise<ScenarioResult | null> {
  const args = [MAIN, '--scenario', scenario, '--url', url, '--pid', String(pid), '--json', '--duration', String(o.duration)];
  if (scenario === 'S6') args.push('--count', String(o.s6Count));
  if (scenario === 'S11') args.push('--count', String(o.s11Count));
  if (scenario === 'S7') args.push('--connections', String(o.s7Connections), '--max-connections', String(o.s7Max));
  // Not for S4 (no consumers) or the memory scenarios.
  if (o.inFlight !== undefined && !NO_IN_FLIGHT.has(scenario)) args.push('--in-flight', String(o.inFlight));
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 600000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout) as ScenarioResult);
      } catch {
        process.stderr.write(`  ${scenario} against ${url} failed: ${err?.message ?? ''}\n${stderr}\n`);
        resolve(null);
      }
    });
  });
}

interface Cell {
  warren: number[];
  rabbit: number[];
  unit: string;
  higherIsBetter: boolean;
  label: string;
}

/** KEY=VALUE pairs into an environment. */
function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new Error(`--warren-env wants KEY=VALUE, got ${JSON.stringify(p)}`);
    env[p.slice(0, i)] = p.slice(i + 1);
  }
  return env;
}

function lscpuModel(): string {
  return cpus()[0]?.model.trim() ?? 'unknown';
}

async function main(o: Opts): Promise<void> {
  const names = o.scenarios === 'all' ? [...SCENARIOS] : o.scenarios.split(',').map((s) => s.trim().toUpperCase());
  const dir = mkdtempSync(join(tmpdir(), 'warren-compare-'));
  chmodSync(dir, 0o755); // RabbitMQ runs as user rabbitmq and must reach its directory
  const start = {
    warren: () => startWarren(o.warrenPort, join(dir, 'warren'), o.cpuProf, parseEnv(o.warrenEnv)),
    // The node name follows the port, so that two compare runs on different ports do not collide.
    rabbitmq: () => startRabbit(o.rabbitPort, o.rabbitDistPort, join(dir, 'rabbit'), `bench${o.rabbitPort}@localhost`),
  };
  const brokers: Partial<Record<'warren' | 'rabbitmq', RunningBroker>> = {};
  const cells = new Map<string, Cell>();
  const raw: { round: number; broker: string; result: ScenarioResult | null }[] = [];
  const started = new Date();
  try {
    process.stderr.write(`starting Warren on ${o.warrenPort} and RabbitMQ on ${o.rabbitPort} (dir ${dir})\n`);
    brokers.warren = await start.warren();
    brokers.rabbitmq = await start.rabbitmq();
    process.stderr.write(`Warren pid ${brokers.warren.pid}, RabbitMQ (beam) pid ${brokers.rabbitmq.pid}\n`);
    for (let round = 1; round <= o.rounds; round++) {
      for (const s of names) {
        for (const name of ['warren', 'rabbitmq'] as const) {
          // Memory scenarios measure RSS growth, so they get a freshly started broker.
          if (FRESH.has(s) || brokers[name]?.alive() !== true) {
            if (!FRESH.has(s)) process.stderr.write(`${name} is not running: restarting it before ${s}\n`);
            await brokers[name]?.stop();
            brokers[name] = undefined;
            brokers[name] = await start[name]();
          }
          const b = brokers[name]!;
          const r = await benchOnce(b.url, b.pid, s, o);
          raw.push({ round, broker: b.name, result: r });
          if (r === null) continue;
          const add = (label: string, value: number, unit: string, hib: boolean) => {
            const key = `${s} ${label}`;
            let c = cells.get(key);
            if (c === undefined) cells.set(key, (c = { warren: [], rabbit: [], unit, higherIsBetter: hib, label }));
            (b.name === 'warren' ? c.warren : c.rabbit).push(value);
          };
          add(r.headline.name, r.headline.value, r.headline.unit, r.headline.higherIsBetter);
          for (const e of EXTRA[s] ?? []) if (r.figures[e.key] !== undefined) add(e.key, r.figures[e.key]!, e.unit, e.higherIsBetter);
          const errs = r.errors.length > 0 ? `  errors: ${r.errors.join('; ')}` : '';
          process.stderr.write(`round ${round} ${s} ${b.name.padEnd(8)} ${r.headline.name} ${formatValue(r.headline.value, r.headline.unit)}${errs}\n`);
        }
      }
    }
  } finally {
    await brokers.warren?.stop();
    await brokers.rabbitmq?.stop();
    if (o.keep !== true) rmSync(dir, { recursive: true, force: true });
  }
  const rows: string[] = [];
  rows.push(`| Scenario | Figure | Warren (median) | RabbitMQ (median) | Warren/RabbitMQ |`);
  rows.push(`|---|---|---:|---:|---:|`);
  for (const [key, c] of cells) {
    const w = median(c.warren);
    const r = median(c.rabbit);
    const ratio = r === 0 ? NaN : w / r;
    rows.push(
      `| ${key.split(' ')[0]} | ${c.label}${c.higherIsBetter ? '' : ' (lower is better)'} | ${formatValue(w, c.unit)} | ${formatValue(r, c.unit)} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : '-'} |`,
    );
  }
  const header =
    `Interleaved run of ${started.toISOString()} — ${o.rounds} rounds × ${o.duration} s, ${cpus().length} cores (${lscpuModel()}), Node ${process.version}` +
    (o.warrenEnv.length > 0 ? `; Warren with ${o.warrenEnv.join(' ')}` : '');
  console.log(header);
  console.log(rows.join('\n'));
  if (o.out !== undefined) {
    writeFileSync(o.out, JSON.stringify({ started, header, options: o, cells: Object.fromEntries(cells), raw }, null, 2));
    process.stderr.write(`raw results written to ${o.out}\n`);
  }
}

const program = new Command();
program
  .name('compare')
  .option('--rounds <n>', 'rounds (each runs every scenario on both brokers)', Number, 3)
  .option('--duration <s>', 'seconds per run', Number, 10)
  .option('--scenarios <list>', 'comma-separated scenarios, or all', 'all')
  .option('--warren-port <port>', 'port for Warren', Number, 5681)
  .option('--rabbit-port <port>', 'port for RabbitMQ', Number, 5682)
  .option('--rabbit-dist-port <port>', 'Erlang distribution port for RabbitMQ', Number, 25682)
  .option('--s6-count <n>', 'messages queued in S6', Number, 1_000_000)
  .option('--s11-count <n>', 'messages in the stream of S11', Number, 1_000_000)
  .option('--s7-connections <n>', 'connections measured in S7', Number, 1000)
  .option('--s7-max <n>', 'connections checked in S7', Number, 10000)
  .option('--in-flight <n>', 'messages each publisher may have in flight, for every scenario but S4, S6, S7 and S11 (S10 has 64 already)', Number)
  .option('--out <file>', 'write raw results as JSON')
  .option('--cpu-prof <dir>', 'run Warren under node --cpu-prof, writing the profile here')
  .option('--warren-env <KEY=VALUE...>', "extra environment for Warren only, e.g. GLIBC_TUNABLES=glibc.malloc.trim_threshold=67108864:glibc.malloc.mmap_threshold=4194304", [])
  .option('--keep', 'keep the temporary broker directories')
  .action((o: Opts) => main(o));
program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`compare: ${err.message}`);
  process.exit(1);
});
