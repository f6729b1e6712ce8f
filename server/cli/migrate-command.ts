import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { Definitions } from '../../persistence/definitions.js';
import { ManagementApi, redactUrl, type BrokerOverview, type QueueInfo } from './migrate-api.js';
import { makePlan, onlyVhosts, type MigrationPlan } from './migrate-plan.js';
import { PROFILES, type TargetProfile } from './migrate-profiles.js';
import { planJson, renderPlan } from './migrate-report.js';
import { runMigration } from './migrate-run.js';
import { checkTarget, compareDefinitions, renderProblems, verifyJson } from './migrate-verify.js';

/** `warren migrate plan|run|verify`: a guided move between two RabbitMQ-compatible brokers. */

interface CommonFlags {
  from?: string;
  fromFile?: string;
  to?: string;
  targetProfile?: TargetProfile;
  fromAmqp?: string;
  toAmqp?: string;
  targetMaxQueues?: number;
  targetMaxConnections?: number;
  targetMaxLength?: number;
  vhost?: string[];
  json?: boolean;
  colour: boolean;
}

interface Gathered {
  plan: MigrationPlan;
  source: ManagementApi | null;
  target: ManagementApi | null;
  sourceAmqp: string | null;
  targetAmqp: string | null;
}

const AMAZON_MQ_HOST = /\.mq\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

function count(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
}

function profileArg(v: string): TargetProfile {
  if (!(PROFILES as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${PROFILES.join(', ')}`);
  return v as TargetProfile;
}

function amqpArg(v: string): string {
  if (!/^amqps?:\/\//.test(v)) throw new InvalidArgumentError('must be an amqp:// or amqps:// URL');
  return v;
}

/** The AMQP URI of a broker, from its management API's listeners and credentials. */
function deriveAmqp(api: ManagementApi, overview: BrokerOverview | null): string {
  const ls = overview?.listeners ?? [];
  const tls = ls.find((l) => l.protocol === 'amqp/ssl');
  const plain = ls.find((l) => l.protocol === 'amqp');
  const useTls = plain === undefined ? tls !== undefined || api.tls : api.tls && tls !== undefined;
  const port = (useTls ? tls?.port : plain?.port) ?? (useTls ? 5671 : 5672);
  const host = api.host.includes(':') ? `[${api.host}]` : api.host;
  return `${useTls ? 'amqps' : 'amqp'}://${encodeURIComponent(api.username)}:${encodeURIComponent(api.password)}@${host}:${port}`;
}

async function gather(f: CommonFlags, needSource: boolean): Promise<Gathered> {
  if (f.from === undefined && f.fromFile === undefined) throw new Error('give the source: --from http://user:pass@host:15672 or --from-file definitions.json');
  if (needSource && f.from === undefined) throw new Error('this needs the source broker itself: --from http://user:pass@host:15672');
  let source: ManagementApi | null = null;
  let defs: Definitions;
  let srcOverview: BrokerOverview | null = null;
  let queues: QueueInfo[] | null = null;
  let sourceUrl: string;
  if (f.from !== undefined) {
    source = new ManagementApi(f.from);
    [defs, srcOverview, queues] = await Promise.all([source.definitions(), source.overview(), source.queues()]);
    sourceUrl = source.display;
  } else {
    try {
      defs = JSON.parse(readFileSync(f.fromFile!, 'utf8')) as Definitions;
    } catch (err) {
      throw new Error(`cannot read definitions from ${f.fromFile}: ${(err as Error).message}`);
    }
    sourceUrl = f.fromFile!;
  }
  if (f.vhost !== undefined && f.vhost.length > 0) {
    const missing = f.vhost.filter((v) => !(defs.vhosts ?? []).some((x) => x.name === v));
    if (missing.length > 0) throw new Error(`the source has no vhost ${missing.map((v) => `'${v}'`).join(', ')}`);
    defs = onlyVhosts(defs, f.vhost);
    queues = queues?.filter((q) => f.vhost!.includes(q.vhost)) ?? null;
  }
  let target: ManagementApi | null = null;
  let overview: BrokerOverview | null = null;
  let targetDefs: Definitions | null = null;
  let hasShovel: boolean | null = null;
  let hasFederation: boolean | null = null;
  if (f.to !== undefined) {
    target = new ManagementApi(f.to);
    [overview, targetDefs, hasShovel, hasFederation] = await Promise.all([target.overview(), target.definitions(), target.answers('/shovels'), target.answers('/federation-links')]);
  }
  const profile: TargetProfile =
    f.targetProfile ?? (overview?.product_name === 'Warren' ? 'warren' : target !== null && AMAZON_MQ_HOST.test(target.host) ? 'amazon-mq' : target !== null ? 'rabbitmq' : 'warren');
  const sourceAmqp = f.fromAmqp ?? (source === null ? null : deriveAmqp(source, srcOverview));
  const targetAmqp = f.toAmqp ?? (target === null ? null : deriveAmqp(target, overview));
  const plan = makePlan({
    source: { url: sourceUrl, defs, overview: srcOverview, queues },
    target: { url: target?.display ?? null, profile, overview, defs: targetDefs, hasShovel, hasFederation, amqpUrl: targetAmqp },
    limits: { maxQueues: f.targetMaxQueues, maxConnections: f.targetMaxConnections, maxLength: f.targetMaxLength },
  });
  return { plan, source, target, sourceAmqp, targetAmqp };
}

function common(c: Command): Command {
  return c
    .option('--from <url>', "the source broker's management API, e.g. http://user:pass@rabbit:15672")
    .option('--to <url>', "the target broker's management API, e.g. http://user:pass@warren:15672")
    .option('--target-profile <profile>', `what the target accepts: ${PROFILES.join(', ')} (default: found from --to)`, profileArg)
    .option('--from-amqp <url>', "the source's AMQP URI for shovels and counts (default: from its API's listeners and credentials)", amqpArg)
    .option('--to-amqp <url>', "the target's AMQP URI (default: from its API's listeners and credentials)", amqpArg)
    .option('--target-max-queues <n>', "Amazon MQ: the max-queues limit of the target's vhost /", count)
    .option('--target-max-connections <n>', "Amazon MQ: the max-connections limit of the target's vhost /", count)
    .option('--target-max-length <n>', "Amazon MQ: the max-length of the target's default policy (cluster deployments)", count)
    .option('--vhost <vhost...>', 'only these vhosts (their objects, and the users with permissions there)')
    .option('--json', 'print JSON instead of tables')
    .option('--no-colour', 'no ANSI colours in tables');
}

async function guarded(name: string, f: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await f();
  } catch (err) {
    console.error(`warren migrate ${name}: ${(err as Error).message}`);
    process.exitCode = 2;
  }
}

const colourOf = (f: CommonFlags): boolean => f.colour && process.stdout.isTTY === true;

export function registerMigrate(program: Command): void {
  const migrate = program.command('migrate').description('move definitions and messages between RabbitMQ-compatible brokers (RabbitMQ, Amazon MQ, Warren)');

  common(migrate.command('plan').description('read the source and list every object: supported, supported with a difference, or not supported, with why'))
    .option('--from-file <file>', 'plan from a definitions file instead of a live source')
    .addHelpText('after', '\nExit status: 0 without blockers, 1 when some objects are not supported by the target, 2 on errors.')
    .action((f: CommonFlags) =>
      guarded('plan', async () => {
        const { plan } = await gather(f, false);
        process.stdout.write(f.json === true ? `${JSON.stringify(planJson(plan), null, 2)}\n` : `${renderPlan(plan, colourOf(f))}\n`);
        return plan.summary.unsupported > 0 ? 1 : 0;
      }),
    );

  common(migrate.command('run').description('import the definitions (minus what the plan refused), move every non-empty queue with a shovel, reconcile'))
    .option('--state <file>', 'where progress is kept, to resume after a stop', 'warren-migrate.state.json')
    .option('--shovel-on <broker>', 'which broker runs the shovels: target (pulls from the source) or source (pushes to the target)', 'target')
    .option('--prefetch <n>', "the shovels' src-prefetch-count", count, 1000)
    .option('--poll <ms>', 'how often progress is read', count, 1000)
    .addHelpText('after', '\nCtrl-C stops: the shovels are removed and the same command resumes.\nExit status: 0 when every moved message arrived, 1 when some are missing, 2 on errors, 130 when stopped.')
    .action((f: CommonFlags & { state: string; shovelOn: string; prefetch: number; poll: number }) =>
      guarded('run', async () => {
        if (f.to === undefined) throw new Error('give the target: --to http://user:pass@host:15672');
        if (f.shovelOn !== 'target' && f.shovelOn !== 'source') throw new Error('--shovel-on must be target or source');
        const g = await gather(f, true);
        const s = g.plan.summary;
        console.error(`Plan: ${s.supported} supported, ${s.difference} with a difference, ${s.unsupported} not supported (left out); ${s.queuesWithMessages} queues with messages.`);
        for (const i of g.plan.items.filter((x) => x.verdict === 'unsupported' && x.kind !== 'plugin')) console.error(`  left out: ${i.kind} ${i.vhost !== null ? `${i.vhost}/` : ''}${i.name}: ${i.reason}`);
        return runMigration(
          g.plan,
          { source: g.source!, target: g.target!, sourceAmqp: g.sourceAmqp!, targetAmqp: g.targetAmqp! },
          { statePath: f.state, shovelOn: f.shovelOn, prefetch: f.prefetch, pollMs: f.poll, colour: colourOf(f), json: f.json === true, log: (l) => console.error(l) },
        );
      }),
    );

  common(migrate.command('verify').description("compare the target's definitions with the source's, and run `warren check` against the target"))
    .option('--from-file <file>', 'the source definitions, from a file')
    .option('--only <text...>', 'check only the scenarios whose names contain one of these', [])
    .option('--concurrency <n>', 'scenarios run at the same time', count, 6)
    .option('--skip-check', 'compare the definitions only')
    .addHelpText('after', '\nExit status: 0 when the definitions match and the check passes, 1 otherwise, 2 on errors.')
    .action((f: CommonFlags & { only: string[]; concurrency: number; skipCheck?: boolean }) =>
      guarded('verify', async () => {
        if (f.to === undefined) throw new Error('give the target: --to http://user:pass@host:15672');
        const g = await gather(f, false);
        const problems = compareDefinitions(g.plan.definitions, await g.target!.definitions());
        const check = f.skipCheck === true ? null : await checkTarget(g.targetAmqp!, f.only, f.concurrency);
        if (f.json === true) process.stdout.write(`${JSON.stringify(verifyJson(g.plan, problems, check), null, 2)}\n`);
        else {
          const lines = [`Target: ${g.target!.display} (${g.plan.target.product} ${g.plan.target.version})`, renderProblems(problems, colourOf(f))];
          if (check !== null) {
            lines.push(`Check against ${redactUrl(g.targetAmqp!)}: ${check.scenarios} scenarios, ${check.match} match, ${check.deliberate} deliberate differences, ${check.differ} differ${check.missing > 0 ? `, ${check.missing} not recorded` : ''}.`);
            for (const n of check.differing) lines.push(`  differs: ${n}`);
          }
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return problems.length > 0 || (check?.differ ?? 0) > 0 ? 1 : 0;
      }),
    );
}
