/**
 * `warren route`: where a message goes in a topology given as RabbitMQ definitions, and
 * why; with `--against <url>`, the same message published on a live broker (under unique
 * names, deleted afterwards) and whether the broker agrees.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { AmqpError } from '../amqp/errors.js';
import type { FieldTable, FieldValue } from '../amqp/table.js';
import { Topology, type RouteMessage } from '../routing/topology/topology.js';
import { formatPath, type RouteVisit } from '../routing/topology/explain.js';
import { expectedOutcome, routeLive, type RouteOutcome } from './live.js';

interface Flags {
  definitions: string;
  exchange: string;
  key: string;
  header: [string, FieldValue][];
  vhost: string;
  against?: string;
  json?: boolean;
}

/** `k=v` is a string; `k:=<json>` a JSON value (a number, true, an array for CC/BCC…). */
function header(v: string, prev: [string, FieldValue][]): [string, FieldValue][] {
  const json = /^([^=:]+):=(.*)$/s.exec(v);
  if (json !== null) {
    try {
      return [...prev, [json[1]!, JSON.parse(json[2]!) as FieldValue]];
    } catch (err) {
      throw new InvalidArgumentError(`${json[1]}: not JSON: ${(err as Error).message}`);
    }
  }
  const eq = v.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('must be name=value (a string) or name:=json');
  return [...prev, [v.slice(0, eq), v.slice(eq + 1)]];
}

function amqpUrl(v: string): string {
  if (!/^amqps?:\/\//.test(v)) throw new InvalidArgumentError('must be an amqp:// or amqps:// URL');
  return v;
}

/** amqp://user:secret@host → amqp://user:***@host, for printing. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

function describe(o: RouteOutcome): string {
  if ('error' in o) return `refused: ${o.error.code} ${o.error.text}`;
  return o.queues.length === 0 ? 'no queue' : o.queues.join(', ');
}

async function route(flags: Flags): Promise<number> {
  let text: string;
  try {
    text = readFileSync(flags.definitions, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${flags.definitions}: ${(err as Error).message}`);
  }
  const topology = Topology.fromDefinitions(text, { vhost: flags.vhost });
  const headers: FieldTable = {};
  for (const [k, v] of flags.header) headers[k] = v;
  const message: RouteMessage = { vhost: flags.vhost, exchange: flags.exchange, routingKey: flags.key };
  if (flags.header.length > 0) message.headers = headers;

  const outcome = expectedOutcome(topology, message);
  let path: readonly RouteVisit[] = [];
  if (!('error' in outcome)) path = topology.route(message).path;
  let live: RouteOutcome | undefined;
  if (flags.against !== undefined) [live] = await routeLive(flags.against, topology, [message], { vhost: flags.vhost });
  const agrees = live === undefined ? undefined : JSON.stringify(live) === JSON.stringify(outcome);

  if (flags.json === true) {
    const out: Record<string, unknown> = { message, ...outcome, path };
    if (live !== undefined) out['against'] = { url: redact(flags.against!), ...live, agrees };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    const lines: string[] = [];
    if ('error' in outcome) lines.push(`refused: the broker closes the channel with ${outcome.error.code} ${outcome.error.text}`);
    else if (outcome.queues.length === 0) lines.push('no queue reached: the message is dropped (a mandatory publish comes back 312 NO_ROUTE)');
    else lines.push(`queues: ${outcome.queues.join(', ')}`);
    if (path.length > 0) lines.push('path:', ...formatPath(path).map((l) => `  ${l}`));
    if (live !== undefined) {
      lines.push(`against ${redact(flags.against!)}: ${agrees === true ? 'agrees' : 'DIFFERS'} (${describe(live)})`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return agrees === false ? 1 : 0;
}

export function registerRoute(program: Command): void {
  program
    .command('route')
    .description('where a message goes in a topology (RabbitMQ definitions JSON), and why; --against checks it on a live broker')
    .requiredOption('-f, --definitions <file>', 'definitions JSON (rabbitmqctl export_definitions, GET /api/definitions, or Warren\'s data/definitions.json)')
    .option('-e, --exchange <name>', 'exchange the message is published to ("" is the default exchange)', '')
    .option('-k, --key <routingKey>', 'routing key', '')
    .option('-H, --header <name=value>', 'a message header, repeatable; name:=json for a non-string value, e.g. \'CC:=["a.b"]\'', header, [])
    .option('--vhost <vhost>', 'virtual host of the topology (entries without one belong to it)', '/')
    .option('--against <url>', 'also publish the message on this broker (under uniquely named copies of the topology, deleted afterwards) and compare', amqpUrl)
    .option('--json', 'print JSON')
    .action(async (flags: Flags) => {
      try {
        process.exitCode = await route(flags);
      } catch (err) {
        const msg = err instanceof AmqpError ? err.replyText : (err as Error).message;
        console.error(`warren: ${msg}`);
        process.exitCode = 2;
      }
    });
}
