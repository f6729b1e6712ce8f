import { join } from 'node:path';
import type { Logger } from 'pino';
import { Typed, type FieldTable, type FieldValue } from '../../amqp/table.js';
import { readDefinitions, writeDefinitionsAtomic, type Definitions, type JsonTable } from '../../persistence/definitions.js';

/**
 * Keeps the broker's durable state on disk, in RabbitMQ's definitions format: users,
 * vhosts, permissions, limits, parameters, policies, durable exchanges, durable
 * non-exclusive queues and the bindings between durable ends (what `collect` gives; the
 * broker builds it, see server/access/definitions-export.ts). Written whole and atomically
 * after every change that touches them, before the client hears declare-ok, so a
 * confirmed declaration survives a crash. Plaintext passwords are never in it: users are
 * kept as RabbitMQ keeps them, salted hashes.
 */
export class DurableDefinitions {
  readonly path: string;
  preFlushScheduled = false;

  constructor(
    dataDir: string,
    private readonly collect: () => Definitions,
    private readonly log: Logger,
  ) {
    this.path = join(dataDir, 'definitions.json');
  }

  /** What the file holds, or null when there is none yet. */
  read(): Definitions | null {
    return readDefinitions(this.path);
  }

  save(): void {
    writeDefinitionsAtomic(this.path, this.collect());
  }

  /** Run by the scheduler before this turn's replies are written: declare-ok means on disk. */
  preFlush(): void {
    try {
      this.save();
    } catch (err) {
      this.log.error({ err: (err as Error).message, path: this.path }, 'cannot save definitions');
    }
  }
}

function toJsonValue(v: FieldValue): unknown {
  if (v instanceof Typed) {
    const x = v.value;
    if (typeof x === 'bigint') return Number(x);
    if (v.type === 'D') {
      const d = x as { scale: number; value: number };
      return d.value / 10 ** d.scale;
    }
    return toJsonValue(x as FieldValue);
  }
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return v.toString();
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v !== null && typeof v === 'object') return toJson(v);
  return v;
}

export function toJson(t: FieldTable): JsonTable {
  const out: JsonTable = {};
  for (const k of Object.keys(t)) out[k] = toJsonValue(t[k]!);
  return out;
}

function fromJsonValue(v: unknown): FieldValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (typeof v === 'object') return fromJson(v as JsonTable);
  return null;
}

export function fromJson(t: JsonTable | undefined): FieldTable {
  const out: FieldTable = {};
  for (const k of Object.keys(t ?? {})) out[k] = fromJsonValue(t![k]);
  return out;
}
