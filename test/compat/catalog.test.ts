/**
 * The compatibility catalog (compat/) run against Warren and compared with RabbitMQ:
 *  - always: with the outcomes recorded from RabbitMQ 3.10 (compat/recorded/);
 *  - when RABBITMQ_URL is set (CI starts one, .ci/services/rabbitmq.sh): live, every
 *    scenario against both brokers.
 * Only the differences listed in compat/deliberate.ts (mirroring docs/compatibility.md)
 * are allowed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG } from '../../compat/catalog.js';
import { compare } from '../../compat/diff.js';
import { compatUsers, loadRecording, provisionOnRabbitMQ, removeFromRabbitMQ } from '../../compat/recorded.js';
import { runCatalog } from '../../compat/runner.js';
import type { Outcome } from '../../compat/types.js';
import { startBroker, type RunningBroker } from '../../server/index.js';
import { importDefinitions } from '../../server/access/definitions-import.js';

const RABBITMQ_URL = process.env['RABBITMQ_URL'] ?? '';
const RABBITMQ_MGMT_URL = process.env['RABBITMQ_MGMT_URL'] ?? '';
if (RABBITMQ_URL === '') {
  console.warn('compat: RABBITMQ_URL is not set; the live comparison with RabbitMQ is skipped (the recorded one still runs). CI sets it.');
} else if (RABBITMQ_MGMT_URL === '') {
  console.warn('compat: RABBITMQ_MGMT_URL is not set; the scenarios run as a restricted user are left out of the live comparison. CI sets it.');
}
/** Scenarios for the live RabbitMQ: the restricted user is created there through its HTTP API. */
const LIVE = RABBITMQ_MGMT_URL === '' ? CATALOG.filter((s) => s.restricted !== true) : CATALOG;
let createdOnRabbit = false;

let warren: RunningBroker;
let onWarren: Map<string, Outcome>;
let onRabbit: Map<string, Outcome> | undefined;

let dataDir: string;

beforeAll(async () => {
  // With a data directory, as `warren start` runs: persistent messages to durable queues
  // go through the message store, and must still behave exactly as in RabbitMQ.
  dataDir = mkdtempSync(join(tmpdir(), 'warren-compat-'));
  warren = await startBroker({ port: 0, dataDir });
  // The restricted user (compat/users.json) on both brokers.
  importDefinitions(warren.broker, compatUsers(), { mode: 'runtime' });
  if (RABBITMQ_URL !== '' && RABBITMQ_MGMT_URL !== '') createdOnRabbit = await provisionOnRabbitMQ(RABBITMQ_MGMT_URL);
  [onWarren, onRabbit] = await Promise.all([
    runCatalog(warren.url, CATALOG),
    RABBITMQ_URL === '' ? Promise.resolve(undefined) : runCatalog(RABBITMQ_URL, LIVE),
  ]);
}, 120_000);

afterAll(async () => {
  if (createdOnRabbit) await removeFromRabbitMQ(RABBITMQ_MGMT_URL);
  await warren?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function assertSame(expected: Outcome | undefined, actual: Outcome | undefined, name: string): void {
  expect(expected, `no reference outcome for '${name}'`).toBeDefined();
  expect(actual, `no Warren outcome for '${name}'`).toBeDefined();
  const c = compare(expected!, actual!);
  if (c.verdict === 'differ') {
    expect.fail(`'${name}' differs from RabbitMQ (reference ≠ Warren):\n  ${c.diff.join('\n  ')}`);
  }
}

const names = CATALOG.map((s) => s.name);

describe('compat: Warren against the recorded RabbitMQ 3.10 outcomes', () => {
  const { recording } = loadRecording();

  it('the recording covers the whole catalog (re-record with compat/record.ts after adding scenarios)', () => {
    expect(names.filter((n) => recording.outcomes[n] === undefined)).toEqual([]);
    expect(Object.keys(recording.outcomes).filter((n) => !names.includes(n))).toEqual([]);
  });

  it.each(names)('%s', (name) => assertSame(recording.outcomes[name], onWarren.get(name), name));
});

describe.skipIf(RABBITMQ_URL === '')('compat: Warren against a live RabbitMQ (RABBITMQ_URL)', () => {
  it.each(LIVE.map((s) => s.name))('%s', (name) => assertSame(onRabbit?.get(name), onWarren.get(name), name));
});
