/** Runs scenarios against one broker: each in its own connections, then deletes what it created. */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { Ctx } from './context.js';
import { normalise } from './normalise.js';
import { serverProperties } from './raw.js';
import type { Outcome, Scenario } from './types.js';

const DEFAULT_TIMEOUT_MS = 8000;

export interface BrokerInfo {
  product: string;
  version: string;
}

export async function brokerInfo(url: string): Promise<BrokerInfo> {
  const model = await amqp.connect(url);
  try {
    const p = serverProperties(model);
    // Warren reports RabbitMQ's version as `version` and its own as `warren_version`.
    return { product: String(p['product'] ?? '?'), version: String(p['warren_version'] ?? p['version'] ?? '?') };
  } finally {
    await model.close().catch(() => {});
  }
}

/** Deletes every name as a queue and as an exchange; missing ones are fine. */
async function cleanup(admin: ChannelModel, names: Iterable<string>): Promise<void> {
  let ch: Channel | undefined;
  const fresh = async () => {
    ch = await admin.createChannel();
    ch.on('error', () => {});
    return ch;
  };
  for (const name of names) {
    for (const kind of ['queue', 'exchange'] as const) {
      if (kind === 'exchange' && name.startsWith('amq.')) continue;
      try {
        const c = ch ?? (await fresh());
        if (kind === 'queue') await c.deleteQueue(name);
        else await c.deleteExchange(name);
      } catch {
        ch = undefined;
      }
    }
  }
  await ch?.close().catch(() => {});
}

/** Runs one scenario on `url`; the admin connection (for cleanup) is opened if not given. */
export async function runScenario(url: string, s: Scenario, admin?: ChannelModel): Promise<Outcome> {
  const ctx = new Ctx(url);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('scenario timed out')), s.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    });
    await Promise.race([s.run(ctx), timeout]);
  } catch (err) {
    ctx.log({ exception: String((err as Error).message ?? err) });
  } finally {
    clearTimeout(timer);
    await ctx.finish();
    const own = admin ?? (await amqp.connect(url));
    try {
      await cleanup(own, ctx.created);
    } finally {
      if (admin === undefined) await own.close().catch(() => {});
    }
  }
  return { events: normalise(ctx.events, { token: ctx.token, prefix: ctx.prefix }) };
}

export interface RunOptions {
  concurrency?: number;
  onProgress?: (done: number, total: number, name: string) => void;
}

/** Runs scenarios (a few at a time; their names never collide) and returns outcomes by name. */
export async function runCatalog(url: string, scenarios: readonly Scenario[], opts: RunOptions = {}): Promise<Map<string, Outcome>> {
  const out = new Map<string, Outcome>();
  const admin = await amqp.connect(url);
  admin.on('error', () => {});
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < scenarios.length) {
      const s = scenarios[next++]!;
      out.set(s.name, await runScenario(url, s, admin));
      opts.onProgress?.(++done, scenarios.length, s.name);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 6) }, worker));
  } finally {
    await admin.close().catch(() => {});
  }
  return new Map(scenarios.map((s) => [s.name, out.get(s.name)!]));
}
