import { join } from 'node:path';
import type { Command, CommanderError } from 'commander';
import { ACCESS_COMMANDS } from './access-commands.js';
import { Api, ApiStatusError } from './api.js';
import { UnknownColumns } from './columns.js';
import { DEFINITIONS_COMMANDS } from './definitions-commands.js';
import { LIST_COMMANDS } from './list-commands.js';
import { NODE_COMMANDS } from './node-commands.js';
import { FORMATTERS, Output, processIo, type CtlIo, type Formatter } from './output.js';
import { POLICY_COMMANDS } from './policy-commands.js';
import { apiErrorText, type CommandSpec } from './spec.js';
import { CtlError, EXIT, HttpTransport, SocketTransport, type Transport } from './transport.js';

/**
 * `warren ctl <command>`: rabbitmqctl's commands, arguments, column arguments, options and
 * output, over the management API of a local Warren (its control socket) or of any broker
 * (`--url`).
 */

export const CTL_COMMANDS: CommandSpec[] = [...LIST_COMMANDS, ...ACCESS_COMMANDS, ...POLICY_COMMANDS, ...NODE_COMMANDS, ...DEFINITIONS_COMMANDS];

interface CommonOptions {
  url?: string;
  dataDir: string;
  vhost: string;
  formatter: string;
  quiet?: boolean;
  silent?: boolean;
  tableHeaders?: boolean;
  timeout?: string;
}

/** -t is in seconds, as rabbitmqctl's. */
function timeoutMs(spec: CommandSpec, o: CommonOptions): number {
  if (o.timeout === undefined) return spec.name === 'await_startup' ? 300_000 : 60_000;
  const s = Number(o.timeout);
  if (!Number.isFinite(s) || s <= 0) throw new CtlError(`Bad argument: timeout must be a positive number of seconds, not ${o.timeout}`, EXIT.usage);
  return Math.round(s * 1000);
}

function transportFor(o: CommonOptions): Transport {
  const url = o.url ?? process.env['WARREN_CTL_URL'];
  if (url !== undefined && url !== '') return new HttpTransport(url);
  return new SocketTransport(join(o.dataDir, 'warren.sock'));
}

async function run(spec: CommandSpec, cmd: Command, args: unknown[], io: CtlIo): Promise<number> {
  const o = cmd.optsWithGlobals<CommonOptions>();
  const formatter = o.formatter as Formatter;
  const out = new Output(
    { formatter: FORMATTERS.includes(formatter) ? formatter : 'table', quiet: o.quiet === true, silent: o.silent === true, tableHeaders: o.tableHeaders !== false },
    io.out,
    io.err,
  );
  if (!FORMATTERS.includes(formatter)) {
    io.err.write(`Error (argument validation): formatter ${o.formatter} is not supported: use ${FORMATTERS.join(', ')}\n`);
    return EXIT.usage;
  }
  let transport: Transport | null = null;
  try {
    const ms = timeoutMs(spec, o);
    transport = transportFor(o);
    const api = new Api(transport, ms, () => out.flush());
    const rest = Array.isArray(args[args.length - 1]) ? (args.pop() as string[]) : [];
    await spec.run({ api, out, vhost: o.vhost, timeoutMs: ms, opts: cmd.opts(), io }, args as (string | undefined)[], rest);
    out.flush();
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UnknownColumns) {
      io.err.write(`Error (argument validation): ${err.message}\nColumns of ${spec.name}: ${err.cs.all.map((c) => c.name).join(', ')}\n`);
      return EXIT.usage;
    }
    // An answer no command expected: the API's reason, as rabbitmqctl prints a node's error.
    if (err instanceof ApiStatusError) err = new CtlError(apiErrorText(err), EXIT.unavailable);
    if (err instanceof CtlError) {
      out.error(err);
      return err.exitCode;
    }
    out.error(err as Error);
    return EXIT.software;
  } finally {
    transport?.close();
  }
}

export function registerCtl(program: Command, io: CtlIo = processIo): void {
  const ctl = program
    .command('ctl')
    .description("administer a broker as rabbitmqctl does: a local Warren through its control socket, or any broker (Warren or RabbitMQ) through its management API with --url")
    .option('--url <url>', 'the management API of the broker to administer: http://user:pass@host:15672 (or $WARREN_CTL_URL)')
    .option('-d, --data-dir <dir>', 'data directory of a local broker (its control socket), when no --url is given', './data')
    .option('-p, --vhost <vhost>', 'virtual host, for commands scoped to one', '/')
    .option('--formatter <formatter>', `output format: ${FORMATTERS.join(', ')}`, 'table')
    .option('-q, --quiet', 'suppress informational messages')
    .option('-s, --silent', 'suppress informational messages and table header row')
    .option('--no-table-headers', 'do not print the header row of tables')
    .option('-t, --timeout <seconds>', 'time limit of each request to the broker (60 s; await_startup: 300 s)')
    .exitOverride((err: CommanderError) => {
      // commander has printed what was wrong; rabbitmqctl's exit code for a usage error is 64.
      io.exit(err.exitCode === 0 ? 0 : EXIT.usage);
    })
    .configureOutput({ writeOut: (t) => io.out.write(t), writeErr: (t) => io.err.write(t) });
  for (const spec of CTL_COMMANDS) {
    const c = ctl.command(`${spec.name}${spec.args === undefined ? '' : ' ' + spec.args}`).description(spec.description);
    for (const opt of spec.options ?? []) {
      if (opt.default === undefined) c.option(opt.flags, opt.description);
      else c.option(opt.flags, opt.description, opt.default);
    }
    if (spec.columns !== undefined) c.addHelpText('after', `\n<column> must be one of ${spec.columns.join(', ')}`);
    c.action(async (...actionArgs: unknown[]) => {
      const positional = actionArgs.slice(0, -2);
      io.done(await run(spec, c, positional, io));
    });
  }
}
