#!/usr/bin/env node
/**
 * Standalone entry for `warren check`, until it is wired into server/cli.ts:
 * `node dist/compat/main.js check amqp://… [--against amqp://…]`.
 */
import { Command } from 'commander';
import { registerCheck } from './command.js';

const program = new Command();
program.name('warren');
registerCheck(program);
program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`warren check: ${err.message}`);
  process.exit(2);
});
