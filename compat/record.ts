#!/usr/bin/env node
/**
 * Re-records the reference outcomes from a real RabbitMQ:
 *   npx tsc -p tsconfig.build.json && node dist/compat/record.js [amqp-url]
 * (default $RABBITMQ_URL, else amqp://guest:guest@127.0.0.1:5672). The restricted user of
 * compat/users.json is created first through the management API at $RABBITMQ_MGMT_URL
 * (http://guest:guest@host:15672), or must already exist. The catalog runs twice;
 * a scenario whose two outcomes differ is not deterministic and fails the recording.
 * Writes compat/recorded/rabbitmq-<major>.<minor>.json.
 */
import { writeFileSync } from 'node:fs';
import { CATALOG } from './catalog.js';
import { diffEvents } from './diff.js';
import { provisionOnRabbitMQ, recordedDir, restrictedUserExists, RESTRICTED_USER } from './recorded.js';
import { progressBar } from './report.js';
import { brokerInfo, runCatalog } from './runner.js';
import type { Outcome, Recording } from './types.js';

/** One event per line, so that a re-recording shows as a readable git diff. */
function serialise(r: Recording): string {
  const names = Object.keys(r.outcomes);
  const body = names.map((n, i) => {
    const events = r.outcomes[n]!.events.map((e) => `   ${JSON.stringify(e)}`).join(',\n');
    return ` ${JSON.stringify(n)}: {"events": [\n${events}\n ]}${i < names.length - 1 ? ',' : ''}`;
  });
  return `{"broker": ${JSON.stringify(r.broker)}, "recordedAt": ${JSON.stringify(r.recordedAt)}, "outcomes": {\n${body.join('\n')}\n}}\n`;
}

async function main(): Promise<number> {
  const url = process.argv[2] ?? process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
  const broker = await brokerInfo(url);
  if (broker.product !== 'RabbitMQ') {
    console.error(`record: ${url} is ${broker.product}, not RabbitMQ`);
    return 2;
  }
  const mgmt = process.env['RABBITMQ_MGMT_URL'] ?? '';
  if (mgmt !== '') await provisionOnRabbitMQ(mgmt);
  if (!(await restrictedUserExists(url))) {
    console.error(`record: the user '${RESTRICTED_USER}' cannot log in to ${url}; set RABBITMQ_MGMT_URL to create it, or import compat/users.json`);
    return 2;
  }
  const bar = progressBar();
  const runs: Map<string, Outcome>[] = [];
  for (let i = 0; i < 2; i++) runs.push(await runCatalog(url, CATALOG, { onProgress: (d, t, n) => bar(d + i * t, 2 * t, n) }));
  bar.end();
  let unstable = 0;
  for (const s of CATALOG) {
    const [a, b] = [runs[0]!.get(s.name)!, runs[1]!.get(s.name)!];
    const d = diffEvents(a.events, b.events);
    if (d.length > 0) {
      unstable++;
      console.error(`not deterministic: ${s.name}\n  ${d.join('\n  ')}`);
    }
  }
  if (unstable > 0) {
    console.error(`record: ${unstable} scenarios gave different outcomes on two runs; nothing written`);
    return 1;
  }
  const [major, minor] = broker.version.split('.');
  const path = `${recordedDir()}rabbitmq-${major}.${minor}.json`;
  const recording: Recording = { broker, recordedAt: new Date().toISOString(), outcomes: Object.fromEntries(runs[0]!) };
  writeFileSync(path, serialise(recording));
  console.log(`recorded ${CATALOG.length} scenarios from RabbitMQ ${broker.version} into ${path}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`record: ${err.message}`);
    process.exit(2);
  },
);
