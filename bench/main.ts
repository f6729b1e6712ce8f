#!/usr/bin/env node
/**
 * Standalone entry for the load generator, until `warren bench` is wired into
 * server/cli.ts: `node dist/bench/main.js --scenario S1 --url amqp://…`
 * (accepts the same flags as `warren bench`).
 */
import { Command } from 'commander';
import { registerBench } from './command.js';

const program = new Command();
program.name('warren-bench');
registerBench(program);
// Let `main.js --scenario S1` work as well as `main.js bench --scenario S1`.
const argv = process.argv.slice(2);
const args = argv[0] === 'bench' ? argv : ['bench', ...argv];
program.parseAsync(args, { from: 'user' }).catch((err: Error) => {
  console.error(`warren bench: ${err.message}`);
  process.exit(1);
});
