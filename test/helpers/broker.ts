// One broker per test file: the setup every integration suite shares.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startBroker, type BrokerConfig, type RunningBroker } from '../../server/index.js';

/**
 * WARREN_REFERENCE_URL=amqp://... runs a suite against another broker (a real RabbitMQ)
 * instead of a fresh Warren, to check the expectations themselves.
 */
export const referenceUrl = process.env['WARREN_REFERENCE_URL'] ?? '';

/** True when the tests run against Warren (the default), false against a reference broker. */
export const onWarren = referenceUrl === '';

/** startBroker({ port: 0 }) with a data directory of its own, removed again on close. */
export async function startTestBroker(options: Partial<BrokerConfig> = {}): Promise<RunningBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-test-'));
  const b = await startBroker({ port: 0, dataDir, ...options });
  return {
    ...b,
    close: async () => {
      try {
        await b.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export interface BrokerForFile<C> {
  /** The broker's AMQP URL (after beforeAll). */
  readonly url: string;
  /** The in-process Warren (undefined against a reference broker). */
  readonly warren: RunningBroker | undefined;
  /** A new client connection, closed after the file's tests. */
  connect(): Promise<C>;
}

/**
 * Starts one Warren (or uses WARREN_REFERENCE_URL) for the calling test file; every
 * connection opened through it is closed in afterAll, before the broker stops.
 */
export function useBrokerWith<C>(
  open: (url: string) => Promise<C>,
  closeQuietly: (c: C) => Promise<void>,
  options: () => Partial<BrokerConfig> = () => ({}),
): BrokerForFile<C> {
  let b: RunningBroker | undefined;
  let url: string | undefined;
  const opened: C[] = [];
  beforeAll(async () => {
    if (onWarren) {
      b = await startBroker({ port: 0, ...options() });
      url = b.url;
    } else {
      url = referenceUrl;
    }
  });
  afterAll(async () => {
    for (const c of opened) await closeQuietly(c);
    await b?.close();
  });
  const started = (): string => {
    if (url === undefined) throw new Error('broker not started');
    return url;
  };
  return {
    get url() {
      return started();
    },
    get warren() {
      return b;
    },
    async connect() {
      const c = await open(started());
      opened.push(c);
      return c;
    },
  };
}
