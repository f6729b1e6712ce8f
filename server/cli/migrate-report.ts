import Table from 'cli-table3';
import type { MigrationPlan, PlanItem, Verdict } from './migrate-plan.js';

/** The words the table shows for each verdict. */
export const VERDICT_LABEL: Record<Verdict, string> = {
  supported: 'supported',
  difference: 'with difference',
  unsupported: 'NOT SUPPORTED',
};

function table(head: string[], colWidths: (number | null)[], colour: boolean): Table.Table {
  return new Table({
    head,
    colWidths,
    wordWrap: true,
    wrapOnWordBoundary: true,
    style: colour ? { head: ['bold'], compact: true } : { head: [], border: [], compact: true },
  });
}

function width(): number {
  return Math.max(100, Math.min(process.stdout.columns ?? 140, 200));
}

/** The plan as a table, object by object, and a summary with what `run` will do. */
export function renderPlan(plan: MigrationPlan, colour: boolean): string {
  const w = width();
  const fixed = [17, 17, 18, 30, 10];
  const reasonWidth = Math.max(24, w - fixed.reduce((a, b) => a + b, 0) - 8);
  const t = table(['verdict', 'kind', 'vhost', 'name', 'messages', 'reason'], [...fixed, reasonWidth], colour);
  for (const i of plan.items) t.push([VERDICT_LABEL[i.verdict], i.kind, i.vhost ?? '', i.name, i.messages === undefined ? '' : String(i.messages), i.reason]);
  const s = plan.summary;
  const lines = [
    `Source: ${plan.source.url} (${plan.source.product}${plan.source.version === '' ? '' : ` ${plan.source.version}`})`,
    `Target: ${plan.target.url ?? '(none given)'} (${plan.target.product}${plan.target.version === '' ? '' : ` ${plan.target.version}`}, profile ${plan.target.profile})`,
    t.toString(),
    `${s.supported} supported, ${s.difference} supported with a difference, ${s.unsupported} not supported.`,
    `${s.queuesWithMessages} queue${s.queuesWithMessages === 1 ? '' : 's'} hold${s.queuesWithMessages === 1 ? 's' : ''} ${s.messages} message${s.messages === 1 ? '' : 's'} to move with shovels.`,
  ];
  if (s.unsupported > 0) lines.push(`${s.unsupported} blocker${s.unsupported === 1 ? '' : 's'}: \`warren migrate run\` leaves ${s.unsupported === 1 ? 'it' : 'them'} out.`);
  return lines.join('\n');
}

export function planJson(plan: MigrationPlan): object {
  return {
    source: plan.source,
    target: plan.target,
    summary: plan.summary,
    blockers: plan.summary.unsupported,
    items: plan.items.map((i: PlanItem) => ({ kind: i.kind, vhost: i.vhost, name: i.name, verdict: i.verdict, reason: i.reason, ...(i.messages === undefined ? {} : { messages: i.messages }) })),
  };
}

/** One queue's outcome after `run`, as far as the two brokers' counts can tell. */
export interface QueueReconciliation {
  vhost: string;
  queue: string;
  /** Messages in the source queue when the migration first started. */
  before: number;
  /** Taken out of the source (before − left). */
  moved: number;
  /** Still in the source. */
  left: number;
  /** What the target's queue gained. */
  arrived: number;
  /** Arrived more than once (arrived − moved, when positive). */
  duplicated: number;
  /** Moved but not arrived (moved − arrived, when positive): consumed on the target meanwhile, or lost. */
  missing: number;
}

export function renderReconciliation(rows: QueueReconciliation[], colour: boolean): string {
  const t = table(['vhost', 'queue', 'before', 'moved', 'left', 'arrived', 'duplicated', 'missing'], [14, 36, 10, 10, 8, 10, 12, 9], colour);
  for (const r of rows) t.push([r.vhost, r.queue, r.before, r.moved, r.left, r.arrived, r.duplicated, r.missing]);
  const sum = (k: keyof QueueReconciliation): number => rows.reduce((n, r) => n + (r[k] as number), 0);
  return `${t.toString()}\n${sum('moved')} moved, ${sum('left')} left at the source, ${sum('arrived')} arrived, ${sum('duplicated')} duplicated, ${sum('missing')} missing (counted by the brokers; consumers on either side during the move blur these).`;
}
