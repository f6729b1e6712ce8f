/** `warren check <url> [--against <url>]`: the compatibility catalog against any broker. */
import { InvalidArgumentError, type Command } from 'commander';
import { relative } from 'node:path';
import { select } from './catalog.js';
import { compare, summariseOutcome } from './diff.js';
import { loadRecording, restrictedUserExists, RESTRICTED_USER } from './recorded.js';
import { counts, progressBar, renderJson, renderTable, type Report, type Row } from './report.js';
import { brokerInfo, runCatalog } from './runner.js';
import type { Outcome } from './types.js';

interface Flags {
  against?: string;
  recorded?: string;
  only: string[];
  concurrency: number;
  json?: boolean;
  colour: boolean;
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function amqpUrl(v: string): string {
  if (!/^amqps?:\/\//.test(v)) throw new InvalidArgumentError('must be an amqp:// or amqps:// URL');
  return v;
}

/** amqp://user:secret@host → amqp://user:***@host, for printing. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

async function check(url: string, flags: Flags): Promise<number> {
  let scenarios = select(flags.only);
  if (scenarios.length === 0) throw new Error(`no scenario matches ${flags.only.join(', ')}`);
  // Scenarios run as the restricted user need it on every broker involved.
  const restricted = scenarios.filter((s) => s.restricted === true).length;
  if (restricted > 0) {
    const there = await Promise.all([url, ...(flags.against !== undefined ? [flags.against] : [])].map(restrictedUserExists));
    if (there.includes(false)) {
      scenarios = scenarios.filter((s) => s.restricted !== true);
      process.stderr.write(
        `warren check: ${restricted} scenarios run as the user '${RESTRICTED_USER}', which cannot log in; skipped. ` +
          'Create it with `warren definitions import compat/users.json` (Warren) or `rabbitmqadmin import compat/users.json` (RabbitMQ).\n',
      );
    }
  }
  const bar = progressBar();
  const total = scenarios.length * (flags.against !== undefined ? 2 : 1);
  let done = 0;
  const onProgress = (_d: number, _t: number, name: string) => bar(++done, total, name);

  let reference: Report['reference'];
  let expected: (name: string) => Outcome | undefined;
  const targetInfo = await brokerInfo(url);
  let actual: Map<string, Outcome>;
  try {
    if (flags.against !== undefined) {
      const refInfo = await brokerInfo(flags.against);
      const [a, r] = await Promise.all([
        runCatalog(url, scenarios, { concurrency: flags.concurrency, onProgress }),
        runCatalog(flags.against, scenarios, { concurrency: flags.concurrency, onProgress }),
      ]);
      actual = a;
      expected = (n) => r.get(n);
      reference = { source: redact(flags.against), ...refInfo };
    } else {
      const { path, recording } = loadRecording(flags.recorded);
      actual = await runCatalog(url, scenarios, { concurrency: flags.concurrency, onProgress });
      expected = (n) => recording.outcomes[n];
      reference = { source: `recorded in ${relative(process.cwd(), path) || path}`, ...recording.broker };
    }
  } finally {
    bar.end();
  }

  const rows: Row[] = scenarios.map((s) => {
    const a = actual.get(s.name)!;
    const e = expected(s.name);
    return { name: s.name, summary: summariseOutcome(e ?? a), result: e === undefined ? 'missing' : compare(e, a) };
  });
  const report: Report = { target: { url: redact(url), ...targetInfo }, reference, rows };
  process.stdout.write(`${flags.json === true ? renderJson(report) : renderTable(report, flags.colour)}\n`);
  return counts(rows).differ > 0 ? 1 : 0;
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('run the compatibility catalog against a broker and compare with RabbitMQ (recorded, or live with --against)')
    .argument('<amqp-url>', 'the broker to check, e.g. amqp://guest:guest@localhost:5672', amqpUrl)
    .option('-a, --against <amqp-url>', 'compare with this broker, run live, instead of the recorded RabbitMQ outcomes', amqpUrl)
    .option('-r, --recorded <file>', 'the recorded outcomes to compare with (default compat/recorded/rabbitmq-3.10.json)')
    .option('-o, --only <text...>', 'only scenarios whose name contains one of these', [])
    .option('-c, --concurrency <n>', 'scenarios run at the same time (each uses its own connections)', positive, 6)
    .option('--json', 'print the result as JSON')
    .option('--no-colour', 'no ANSI colours in the table')
    .addHelpText(
      'after',
      '\nEvery scenario uses uniquely named queues and exchanges and deletes them afterwards.\n' +
        'Exit status: 0 when everything matches (deliberate differences allowed), 1 when something differs, 2 on errors.',
    )
    .action(async (url: string, opts: Omit<Flags, 'colour'> & { colour: boolean }) => {
      const flags: Flags = { ...opts, colour: opts.colour && process.stdout.isTTY === true };
      try {
        process.exitCode = await check(url, flags);
      } catch (err) {
        console.error(`warren check: ${(err as Error).message}`);
        process.exitCode = 2;
      }
    });
}
