#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { mkdirSync } from 'node:fs';
import { Broker } from './broker.js';
import { loadConfigFile, type BrokerConfig } from './config.js';

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
program.name('warren').description('Warren: an AMQP 0-9-1 broker that behaves like RabbitMQ');

program
  .command('start')
  .description('start the broker')
  .option('-p, --port <port>', 'port to listen on (default 5672)', port)
  .option('-H, --host <host>', 'address to listen on (default 0.0.0.0)')
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
    const broker = new Broker({ ...fileConfig, ...cli });
    mkdirSync(broker.config.dataDir, { recursive: true });
    try {
      await broker.listen();
    } catch (err) {
      broker.log.fatal({ err: (err as Error).message }, 'cannot listen');
      process.exit(1);
    }
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
  });

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`warren: ${err.message}`);
  process.exit(1);
});
