import Table from 'cli-table3';
import type { Definitions } from '../../persistence/definitions.js';
import { select } from '../../compat/catalog.js';
import { compare } from '../../compat/diff.js';
import { loadRecording, restrictedUserExists } from '../../compat/recorded.js';
import { counts, type Row } from '../../compat/report.js';
import { runCatalog } from '../../compat/runner.js';
import type { MigrationPlan } from './migrate-plan.js';
import { SHOVEL_PREFIX } from './migrate-run.js';

/**
 * `warren migrate verify`: the target's definitions against what the plan meant to bring
 * (the source's, minus what it refused, adapted as it said), object by object; then the
 * compatibility catalog (`warren check`) against the target's AMQP port.
 */

type Entry = Record<string, unknown>;

export interface DefinitionProblem {
  section: string;
  object: string;
  problem: string;
}

/** JSON with sorted keys, for comparing values whose key order may differ. */
function canon(v: unknown): string {
  const norm = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(norm) : x !== null && typeof x === 'object' ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, norm((x as Entry)[k])])) : x;
  return JSON.stringify(norm(v));
}

const s = (v: unknown): string => (typeof v === 'string' ? v : String(v ?? ''));
const tags = (v: unknown): string => (Array.isArray(v) ? v.map(String) : s(v).split(',')).map((t) => t.trim()).filter((t) => t !== '').sort().join(',');

/** Per section: how an object is named, and the fields that must be equal. */
const SECTIONS: Record<string, { id: (e: Entry) => string; fields: (e: Entry) => Record<string, unknown> }> = {
  users: { id: (e) => s(e['name']), fields: (e) => ({ password_hash: s(e['password_hash']), hashing_algorithm: s(e['hashing_algorithm'] ?? 'rabbit_password_hashing_sha256'), tags: tags(e['tags']) }) },
  vhosts: { id: (e) => s(e['name']), fields: () => ({}) },
  permissions: { id: (e) => `${s(e['user'])} in ${s(e['vhost'])}`, fields: (e) => ({ configure: e['configure'], write: e['write'], read: e['read'] }) },
  topic_permissions: { id: (e) => `${s(e['user'])} in ${s(e['vhost'])} on ${s(e['exchange'])}`, fields: (e) => ({ write: e['write'], read: e['read'] }) },
  parameters: { id: (e) => `${s(e['component'])}/${s(e['name'])} in ${s(e['vhost'])}`, fields: (e) => ({ value: canon(e['value']) }) },
  policies: { id: (e) => `${s(e['name'])} in ${s(e['vhost'])}`, fields: (e) => ({ pattern: e['pattern'], 'apply-to': e['apply-to'] ?? 'all', priority: e['priority'] ?? 0, definition: canon(e['definition']) }) },
  queues: { id: (e) => `${s(e['name'])} in ${s(e['vhost'])}`, fields: (e) => ({ durable: e['durable'] !== false, auto_delete: e['auto_delete'] === true, arguments: canon(e['arguments'] ?? {}) }) },
  exchanges: { id: (e) => `${s(e['name'])} in ${s(e['vhost'])}`, fields: (e) => ({ type: e['type'], durable: e['durable'] !== false, auto_delete: e['auto_delete'] === true, internal: e['internal'] === true, arguments: canon(e['arguments'] ?? {}) }) },
  bindings: {
    id: (e) => `${s(e['source']) || '(default)'} -> ${s(e['destination_type'] ?? 'queue')} ${s(e['destination'])} key '${s(e['routing_key'])}' ${canon(e['arguments'] ?? {})} in ${s(e['vhost'])}`,
    fields: () => ({}),
  },
};

/** Every object the plan brings that the target lacks or holds differently. */
export function compareDefinitions(expected: Definitions, actual: Definitions): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  for (const [section, how] of Object.entries(SECTIONS)) {
    const want = ((expected as Record<string, unknown>)[section] ?? []) as Entry[];
    const have = new Map((((actual as Record<string, unknown>)[section] ?? []) as Entry[]).map((e) => [how.id(e), e]));
    for (const e of want) {
      // The migration's own shovels are gone by design.
      if (section === 'parameters' && s(e['component']) === 'shovel' && s(e['name']).startsWith(SHOVEL_PREFIX)) continue;
      const id = how.id(e);
      const t = have.get(id);
      if (t === undefined) {
        problems.push({ section, object: id, problem: 'missing on the target' });
        continue;
      }
      const a = how.fields(e);
      const b = how.fields(t);
      const differ = Object.keys(a).filter((k) => canon(a[k]) !== canon(b[k]));
      if (differ.length > 0) problems.push({ section, object: id, problem: differ.map((k) => `${k}: ${String(a[k])} on the source, ${String(b[k])} on the target`).join('; ') });
    }
  }
  return problems;
}

export function renderProblems(problems: DefinitionProblem[], colour: boolean): string {
  if (problems.length === 0) return 'Definitions: every object the plan brings is on the target, as on the source.';
  const t = new Table({ head: ['section', 'object', 'problem'], colWidths: [18, 50, 70], wordWrap: true, style: colour ? { head: ['bold'] } : { head: [], border: [] } });
  for (const p of problems) t.push([p.section, p.object, p.problem]);
  return `Definitions: ${problems.length} object${problems.length === 1 ? '' : 's'} missing or different on the target:\n${t.toString()}`;
}

export interface CheckSummary {
  scenarios: number;
  match: number;
  deliberate: number;
  differ: number;
  missing: number;
  differing: string[];
}

/** The compatibility catalog against the target, compared with the recorded RabbitMQ outcomes. */
export async function checkTarget(amqpUrl: string, only: string[], concurrency: number): Promise<CheckSummary> {
  let scenarios = select(only);
  if (scenarios.some((x) => x.restricted === true) && !(await restrictedUserExists(amqpUrl))) scenarios = scenarios.filter((x) => x.restricted !== true);
  const { recording } = loadRecording();
  const actual = await runCatalog(amqpUrl, scenarios, { concurrency });
  const rows: Row[] = scenarios.map((x) => {
    const e = recording.outcomes[x.name];
    return { name: x.name, summary: '', result: e === undefined ? 'missing' : compare(e, actual.get(x.name)!) };
  });
  const c = counts(rows);
  return { scenarios: rows.length, ...c, differing: rows.filter((r) => r.result !== 'missing' && r.result.verdict === 'differ').map((r) => r.name) };
}

export function verifyJson(plan: MigrationPlan, problems: DefinitionProblem[], check: CheckSummary | null): object {
  return { source: plan.source, target: plan.target, definitions: { problems }, check };
}
