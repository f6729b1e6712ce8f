import type { FieldTable } from '../../amqp/table.js';
import type { DefaultExchange } from '../../routing/default-exchange.js';
import type { Exchange as Matcher } from '../../routing/exchange.js';
import { alternateExchangeArg } from '../../routing/publish.js';
import type { ExchangeNode } from '../../routing/router.js';
import type { Queue } from '../queue/queue.js';

/** A declared exchange: its definition plus the matcher that holds its bindings. */
export class Exchange implements ExchangeNode<Queue> {
  readonly kind = 'exchange' as const;
  /** The argument's alternate exchange, else the policy's (the argument wins, as in RabbitMQ). */
  alternateExchange: string | null;
  private readonly argAlternate: string | null;
  /** Messages published into it, and those it routed somewhere (message_stats). */
  publishIn = 0;
  publishOut = 0;
  /** Who declared it (user_who_performed_action); built-in exchanges are the broker's. */
  declaredBy = 'rmq-internal';

  constructor(
    readonly name: string,
    readonly type: string,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: FieldTable,
    readonly router: Matcher<Queue | ExchangeNode<Queue>> | DefaultExchange<Queue>,
  ) {
    this.argAlternate = alternateExchangeArg(args);
    this.alternateExchange = this.argAlternate;
  }

  applyPolicy(alternate: string | undefined): void {
    this.alternateExchange = this.argAlternate ?? alternate ?? null;
  }

  get resource(): string {
    return `exchange '${this.name}'`;
  }
}
