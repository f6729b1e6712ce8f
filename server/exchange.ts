import type { FieldTable } from '../amqp/table.js';
import type { DefaultExchange } from '../routing/default-exchange.js';
import type { Exchange as Matcher } from '../routing/exchange.js';
import type { ExchangeNode } from '../routing/router.js';
import type { Queue } from './queue.js';

/** A declared exchange: its definition plus the matcher that holds its bindings. */
export class Exchange implements ExchangeNode<Queue> {
  readonly kind = 'exchange' as const;
  readonly alternateExchange: string | null;

  constructor(
    readonly name: string,
    readonly type: string,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: FieldTable,
    readonly router: Matcher<Queue | ExchangeNode<Queue>> | DefaultExchange<Queue>,
  ) {
    const ae = args['alternate-exchange'];
    this.alternateExchange = typeof ae === 'string' ? ae : Buffer.isBuffer(ae) ? ae.toString() : null;
  }

  get resource(): string {
    return `exchange '${this.name}'`;
  }
}
