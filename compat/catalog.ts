/** Every scenario, in a stable order. The CLI, the recorder and the differential test all use this list. */
import { consumeScenarios } from './scenarios/consume.js';
import { dlxScenarios } from './scenarios/dlx.js';
import { e2eScenarios } from './scenarios/e2e.js';
import { errorScenarios } from './scenarios/errors.js';
import { featureScenarios } from './scenarios/features.js';
import { queueScenarios } from './scenarios/queues.js';
import { routingScenarios } from './scenarios/routing.js';
import { txConfirmScenarios } from './scenarios/confirms-tx.js';
import { persistentScenarios } from './scenarios/persistent.js';
import { accessScenarios } from './scenarios/access.js';
import { quorumScenarios } from './scenarios/quorum.js';
import { streamScenarios } from './scenarios/streams.js';
import type { Scenario } from './types.js';

function unique(list: Scenario[]): Scenario[] {
  const seen = new Set<string>();
  for (const s of list) {
    if (seen.has(s.name)) throw new Error(`duplicate scenario name: ${s.name}`);
    seen.add(s.name);
  }
  return list;
}

export const CATALOG: readonly Scenario[] = unique([
  ...routingScenarios,
  ...e2eScenarios,
  ...queueScenarios,
  ...errorScenarios,
  ...consumeScenarios,
  ...featureScenarios,
  ...dlxScenarios,
  ...txConfirmScenarios,
  ...persistentScenarios,
  ...accessScenarios,
  ...quorumScenarios,
  ...streamScenarios,
]);

/** Scenarios whose name contains any of `filters` (all when none is given). */
export function select(filters: string[] = []): Scenario[] {
  if (filters.length === 0) return [...CATALOG];
  return CATALOG.filter((s) => filters.some((f) => s.name.includes(f)));
}
