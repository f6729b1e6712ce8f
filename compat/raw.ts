/**
 * The few places where amqplib hides what a scenario must do or see: methods it never
 * sends (basic.qos with a prefetch_size, basic.publish with immediate) and the fields of a
 * connection.close (amqplib keeps only the reply code). Reaches into amqplib's internals,
 * which are stable across its 0.10 and 2.x lines.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Channel, ChannelModel } from 'amqplib';

const require = createRequire(import.meta.url);
const defs = require(join(dirname(require.resolve('amqplib')), 'lib', 'defs.js')) as Record<string, number>;

function id(name: string): number {
  const v = defs[name];
  if (typeof v !== 'number') throw new Error(`amqplib defs has no ${name}`);
  return v;
}

export const METHOD = {
  ConnectionClose: id('ConnectionClose'),
  BasicQos: id('BasicQos'),
  BasicQosOk: id('BasicQosOk'),
  BasicPublish: id('BasicPublish'),
  BasicProperties: id('BasicProperties'),
  BasicRecover: id('BasicRecover'),
  BasicRecoverOk: id('BasicRecoverOk'),
  ChannelFlow: id('ChannelFlow'),
  ChannelFlowOk: id('ChannelFlowOk'),
  TxSelect: id('TxSelect'),
  TxSelectOk: id('TxSelectOk'),
  TxCommit: id('TxCommit'),
  TxCommitOk: id('TxCommitOk'),
  TxRollback: id('TxRollback'),
  TxRollbackOk: id('TxRollbackOk'),
  ConfirmSelect: id('ConfirmSelect'),
  ConfirmSelectOk: id('ConfirmSelectOk'),
} as const;

interface Frame {
  id?: number;
  fields?: Record<string, unknown>;
}

interface InternalConnection {
  channels: ({ channel: { accept(f: Frame): unknown } } | null)[];
  serverProperties?: Record<string, unknown>;
  sendMessage(channel: number, method: number, fields: object, propsId: number, props: object, body: Buffer): boolean;
}

interface InternalChannel {
  ch: number;
  connection: InternalConnection;
  rpc(method: number, fields: object, expect: number): Promise<Record<string, unknown>>;
}

export interface CloseFields {
  code: number;
  text: string;
  classId: number;
  methodId: number;
}

function conn(model: ChannelModel): InternalConnection {
  return (model as unknown as { connection: InternalConnection }).connection;
}

/** Calls `onClose` with every connection.close the server sends on this connection. */
export function onServerClose(model: ChannelModel, onClose: (c: CloseFields) => void): void {
  const c0 = conn(model).channels[0]?.channel;
  if (c0 === undefined) return;
  const orig = c0.accept.bind(c0);
  c0.accept = (f: Frame) => {
    if (f.id === METHOD.ConnectionClose && f.fields !== undefined) {
      const x = f.fields;
      onClose({ code: Number(x['replyCode']), text: String(x['replyText']), classId: Number(x['classId']), methodId: Number(x['methodId']) });
    }
    return orig(f);
  };
}

export function serverProperties(model: ChannelModel): Record<string, unknown> {
  return conn(model).serverProperties ?? {};
}

export function rpc(ch: Channel, method: number, fields: object, expect: number): Promise<Record<string, unknown>> {
  return (ch as unknown as InternalChannel).rpc(method, fields, expect);
}

/** basic.publish with any flags (amqplib always sends immediate=false). */
export function rawPublish(
  ch: Channel,
  fields: { exchange: string; routingKey: string; mandatory: boolean; immediate: boolean },
  body: Buffer,
): void {
  const c = ch as unknown as InternalChannel;
  c.connection.sendMessage(c.ch, METHOD.BasicPublish, { ticket: 0, ...fields }, METHOD.BasicProperties, { headers: {} }, body);
}
