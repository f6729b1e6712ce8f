import { ConnectionError } from '../../../amqp/errors.js';
import type { FieldTable } from '../../../amqp/table.js';

/** Checks one tune-ok value against the server's bounds, with RabbitMQ's 530 texts. */
export function negotiate(field: string, min: number, server: number, client: number): void {
  if (client !== 0 && client < min) fail(field, client, 'lower', 'minimum', min);
  if (server !== 0 && (client === 0 || client > server)) fail(field, client, 'higher', 'maximum', server);
}

function fail(field: string, client: number, cmp: string, bound: string, value: number): never {
  const detail = client === 0 ? ' (no limit)' : '';
  throw new ConnectionError(530, `negotiated ${field} = ${client}${detail} is ${cmp} than the ${bound} allowed value (${value})`, 10, 31);
}

/** The client's product name (client properties), for the log. */
export function clientName(props: FieldTable): string | undefined {
  const p = props['product'];
  return typeof p === 'string' ? p : undefined;
}
