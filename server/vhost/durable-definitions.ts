import { join } from 'node:path';
import type { Logger } from 'pino';
import { readDefinitions, writeDefinitionsAtomic, type Definitions } from '../../persistence/definitions.js';

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

// Field tables in definitions: plain JSON, as RabbitMQ writes them (shared with warren/routing).
export { fromJson, toJson } from '../../routing/topology/definitions.js';
