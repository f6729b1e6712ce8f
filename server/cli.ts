#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Broker, VERSION } from './broker.js';
import { DEFAULT_CONFIG, type BrokerConfig } from './ops/config.js';
import { readConfigFile, type ConfigWarning } from './ops/rabbitmq-conf.js';
import { controlRequest, type ControlRequest } from './control.js';
import { registerBench } from '../bench/command.js';
import { registerCheck } from '../compat/command.js';
import { registerRoute } from '../testing/route-command.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

/** A listener port, or "none" for no listener at all. */
function optionalPort(value: string): number | 'none' {
  return value === 'none' ? 'none' : port(value);
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function level(value: string): string {
  if (!LEVELS.includes(value)) throw new InvalidArgumentError(`must be one of ${LEVELS.join(', ')}`);
  return value;
}

interface StartOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  logLevel?: string;
  config?: string;
  managementPort?: number | 'none';
  prometheusPort?: number | 'none';
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
  .option('-c, --config <file>', "config file: RabbitMQ's rabbitmq.conf format, or JSON")
  .option('--management-port <port>', 'management HTTP API port (default 15672; 0 picks a free one, none: no API)', optionalPort)
  .option('--prometheus-port <port>', 'Prometheus /metrics port (default 15692; 0 picks a free one, none: no endpoint)', optionalPort)
  .action(async (opts: StartOptions) => {
    let fileConfig: Partial<BrokerConfig> = {};
    let warnings: ConfigWarning[] = [];
    try {
      if (opts.config !== undefined) ({ config: fileConfig, warnings } = readConfigFile(opts.config));
    } catch (err) {
      console.error(`warren: ${(err as Error).message}`);
      process.exit(2);
    }
    const cli: Partial<BrokerConfig> = {
      port: opts.port,
      host: opts.host,
      dataDir: opts.dataDir,
      logLevel: opts.logLevel,
      managementPort: opts.managementPort === 'none' ? null : opts.managementPort,
      prometheusPort: opts.prometheusPort === 'none' ? null : opts.prometheusPort,
    };
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
    for (const w of warnings) broker.log.warn({ setting: w.key, file: w.file, line: w.line }, `config: ${w.key}: ${w.reason}`);
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
  vhost?: string;
}

/** Sends one request to the running broker; prints its error and exits non-zero on failure. */
async function control(opts: ControlOptions, req: ControlRequest, timeoutMs?: number): Promise<unknown> {
  const path = join(opts.dataDir, 'warren.sock');
  let reply;
  try {
    reply = await controlRequest(path, { ...req, vhost: opts.vhost }, timeoutMs);
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

const operatorPolicy = program
  .command('operator-policy')
  .description('manage operator policies of a running broker (like rabbitmqctl set_operator_policy): they cap what policies set');

controlOpts(
  operatorPolicy
    .command('set <name> <pattern> <definition>')
    .description('set an operator policy; keys: expires, message-ttl, max-length, max-length-bytes, max-in-memory-length, max-in-memory-bytes, delivery-limit')
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
  await control(opts, { cmd: 'operator_policy.set', name, pattern, definition: def, priority: opts.priority ?? 0, applyTo: opts.applyTo });
  console.log(`Setting operator policy override "${name}" for pattern "${pattern}" to "${definition}" with priority "${opts.priority ?? 0}" for vhost "${opts.vhost}" ...`);
});

controlOpts(operatorPolicy.command('clear <name>').description('clear an operator policy')).action(async (name: string, opts: ControlOptions) => {
  await control(opts, { cmd: 'operator_policy.clear', name });
  console.log(`Clearing operator policy "${name}" on vhost "${opts.vhost}" ...`);
});

controlOpts(operatorPolicy.command('list').description('list operator policies')).action(async (opts: ControlOptions) => {
  const list = (await control(opts, { cmd: 'operator_policy.list' })) as { vhost: string; name: string; pattern: string; applyTo: string; definition: unknown; priority: number }[];
  const shown = list.map((p) => ({ vhost: p.vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: sortKeys(p.definition as Record<string, unknown>), priority: p.priority }));
  console.log(JSON.stringify(shown, null, 2));
});

const definitions = program.command('definitions').description("export or import a running broker's definitions (RabbitMQ's JSON format)");
const definitionsOpts = (c: Command): Command =>
  c.option('-d, --data-dir <dir>', 'data directory of the running broker', './data').option('--vhost <vhost>', "only this vhost's objects (objects without a vhost field)");

definitionsOpts(
  definitions
    .command('export [file]')
    .description('write users, vhosts, permissions, limits, parameters, policies, queues, exchanges and bindings as JSON (to stdout without a file, or with -)'),
).action(async (file: string | undefined, opts: ControlOptions) => {
  const defs = await control(opts, { cmd: 'definitions.export' });
  const text = JSON.stringify(defs, null, 2) + '\n';
  if (file === undefined || file === '-') {
    process.stdout.write(text);
    return;
  }
  console.log(`Exporting definitions in JSON to a file at "${file}" ...`);
  try {
    writeFileSync(file, text, { mode: 0o600 });
  } catch (err) {
    console.error(`warren: cannot write ${file}: ${(err as Error).message}`);
    process.exit(2);
  }
});

definitionsOpts(
  definitions
    .command('import <file>')
    .description('import a definitions file (an export from RabbitMQ 3.x or Warren); entries that cannot be honoured are listed, and the exit code is 1'),
).action(async (file: string, opts: ControlOptions) => {
  let defs: unknown;
  try {
    defs = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`warren: cannot read definitions from ${file}: ${(err as Error).message}`);
    process.exit(2);
  }
  console.log(`Importing definitions in JSON from a file at "${file}" ...`);
  const report = (await control(opts, { cmd: 'definitions.import', definitions: defs }, 120_000)) as Record<string, { imported: number; skipped: string[]; errors: string[] }>;
  let failed = 0;
  for (const [section, r] of Object.entries(report)) {
    for (const s of r.skipped) console.log(`  ${section}: skipped ${s}`);
    for (const e of r.errors) console.error(`  ${section}: could not import ${e}`);
    failed += r.errors.length;
  }
  if (failed > 0) {
    console.error(`warren: ${failed} entries could not be imported`);
    process.exit(1);
  }
  console.log('Successfully imported definitions.');
});

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

registerCheck(program);
registerRoute(program);
registerBench(program);
// server/cli/ shares this floor: loaded on demand (a dynamic import), not as a static edge.
const { registerMigrate } = await import('./cli/migrate-command.js');
registerMigrate(program);

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`warren: ${err.message}`);
  process.exit(1);
});
