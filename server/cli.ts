#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Broker, VERSION } from './broker.js';
import { DEFAULT_CONFIG, loadConfigFile, type BrokerConfig } from './ops/config.js';
import { controlRequest, type ControlRequest } from './control.js';
import { registerBench } from '../bench/command.js';
import { registerCheck } from '../compat/command.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function level(value: string): string {
  if (!LEVELS.includes(value)) throw new InvalidArgumentError(`must be one of ${LEVELS.join(', ')}`);
  return value;
}

const program = new Command();
program
  .name('warren')
  .description('Warren: an AMQP 0-9-1 broker that behaves like RabbitMQ')
  .version(VERSION, '-V, --version', "print Warren's version");

program
  .command('start')
  .description('start the broker')
  .option('-p, --port <port>', 'port to listen on (default 5672)', port)
  .option('-H, --host <host>', 'address to listen on (default ::, IPv6 and IPv4)')
  .option('-d, --data-dir <dir>', 'data directory (default ./data)')
  .option('-l, --log-level <level>', 'fatal, error, warn, info, debug, trace or silent', level)
  .option('-c, --config <file>', 'JSON config file')
  .action(async (opts: { port?: number; host?: string; dataDir?: string; logLevel?: string; config?: string }) => {
    let fileConfig: Partial<BrokerConfig> = {};
    try {
      if (opts.config !== undefined) fileConfig = loadConfigFile(opts.config);
    } catch (err) {
      console.error(`warren: ${(err as Error).message}`);
      process.exit(2);
    }
    const cli: Partial<BrokerConfig> = { port: opts.port, host: opts.host, dataDir: opts.dataDir, logLevel: opts.logLevel };
    for (const k of Object.keys(cli) as (keyof BrokerConfig)[]) if (cli[k] === undefined) delete cli[k];
    let broker: Broker;
    try {
      const merged = { ...fileConfig, ...cli };
      const dataDir = merged.dataDir ?? DEFAULT_CONFIG.dataDir;
      broker = new Broker({ controlSocket: join(dataDir, 'warren.sock'), ...merged });
    } catch (err) {
      console.error(`warren: ${(err as Error).message}`);
      process.exit(2);
    }
    mkdirSync(broker.config.dataDir, { recursive: true });
    // Signal handlers first: a supervisor may stop the broker as soon as it says it listens.
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      broker.log.info({ signal }, 'shutting down');
      broker.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    try {
      await broker.listen();
    } catch (err) {
      if (stopping) return;
      broker.log.fatal({ err: (err as Error).message }, 'cannot listen');
      await broker.close().catch(() => {}); // lets go of the data directory
      process.exit(1);
    }
  });

interface ControlOptions {
  dataDir: string;
  vhost: string;
}

/** Sends one request to the running broker; prints its error and exits non-zero on failure. */
async function control(opts: ControlOptions, req: ControlRequest): Promise<unknown> {
  const path = join(opts.dataDir, 'warren.sock');
  let reply;
  try {
    reply = await controlRequest(path, { ...req, vhost: opts.vhost });
  } catch (err) {
    console.error(`warren: ${(err as Error).message}`);
    process.exit(2);
  }
  if (!reply.ok) {
    console.error(`warren: ${reply.error}`);
    process.exit(1);
  }
  return reply.result;
}

const policy = program.command('policy').description('manage policies of a running broker (like rabbitmqctl set_policy)');
const controlOpts = (c: Command): Command =>
  c.option('-d, --data-dir <dir>', 'data directory of the running broker', './data').option('--vhost <vhost>', 'virtual host', '/');

controlOpts(
  policy
    .command('set <name> <pattern> <definition>')
    .description('set a policy; definition is JSON, e.g. \'{"max-length":1000,"overflow":"reject-publish"}\'')
    .option('--priority <n>', 'priority (higher wins)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer');
      return n;
    })
    .option('--apply-to <kind>', 'queues, exchanges or all', 'all'),
).action(async (name: string, pattern: string, definition: string, opts: ControlOptions & { priority?: number; applyTo: string }) => {
  let def: unknown;
  try {
    def = JSON.parse(definition);
  } catch (err) {
    console.error(`warren: the definition is not valid JSON: ${(err as Error).message}`);
    process.exit(2);
  }
  await control(opts, { cmd: 'policy.set', name, pattern, definition: def, priority: opts.priority ?? 0, applyTo: opts.applyTo });
  console.log(`Setting policy "${name}" for pattern "${pattern}" to "${definition}" with priority "${opts.priority ?? 0}" for vhost "${opts.vhost}" ...`);
});

controlOpts(policy.command('clear <name>').description('clear a policy')).action(async (name: string, opts: ControlOptions) => {
  await control(opts, { cmd: 'policy.clear', name });
  console.log(`Clearing policy "${name}" on vhost "${opts.vhost}" ...`);
});

controlOpts(policy.command('list').description('list policies').option('--json', 'print JSON')).action(
  async (opts: ControlOptions & { json?: boolean }) => {
    const list = (await control(opts, { cmd: 'policy.list' })) as {
      vhost: string;
      name: string;
      pattern: string;
      applyTo: string;
      definition: unknown;
      priority: number;
    }[];
    // rabbitmqctl list_policies' shape: 'apply-to', and the definition's keys sorted.
    const shown = list.map((p) => ({
      vhost: p.vhost,
      name: p.name,
      pattern: p.pattern,
      'apply-to': p.applyTo,
      definition: sortKeys(p.definition as Record<string, unknown>),
      priority: p.priority,
    }));
    if (opts.json === true) {
      console.log(JSON.stringify(shown, null, 2));
      return;
    }
    const rows = [['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority']];
    for (const p of shown) rows.push([p.vhost, p.name, p.pattern, p['apply-to'], JSON.stringify(p.definition), String(p.priority)]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  },
);

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

registerCheck(program);
registerBench(program);

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`warren: ${err.message}`);
  process.exit(1);
});
