import { totalmem } from 'node:os';
import type { Broker } from '../broker.js';

/**
 * The broker's resource alarms as the management plane reports them. The free-disk alarm
 * is `broker.diskAlarm`; a broker that also exposes `alarms()` (the memory alarm, with
 * both listed) is read through that instead, so health checks, /api/nodes and Prometheus
 * need no change when more alarms appear.
 */
export type AlarmResource = 'disk' | 'memory';

interface WithAlarmList {
  alarms?: () => readonly { resource: string }[];
  memoryLimit?: number;
}

export function activeAlarms(broker: Broker): AlarmResource[] {
  const list = (broker as unknown as WithAlarmList).alarms;
  if (typeof list === 'function') {
    return list.call(broker).map((a) => (a.resource === 'memory' ? 'memory' : 'disk'));
  }
  return broker.diskAlarm?.active === true ? ['disk'] : [];
}

/** RabbitMQ's names for the alarmed resources, as in /api/health/checks/alarms. */
export const RESOURCE_NAME: Record<AlarmResource, string> = { disk: 'disk space', memory: 'memory' };

/** The memory high watermark in bytes: the broker's if it has one, else RabbitMQ's default 0.4 of RAM. */
export function memoryLimit(broker: Broker): number {
  const limit = (broker as unknown as WithAlarmList).memoryLimit;
  return typeof limit === 'number' ? limit : Math.floor(totalmem() * 0.4);
}

/** disk_free_limit in bytes (RabbitMQ's default without a data directory to watch). */
export function diskFreeLimit(broker: Broker): number {
  return broker.diskAlarm?.limit ?? 50_000_000;
}

/** Free bytes on the data directory's file system at the last check; 0 when unknown. */
export function diskFree(broker: Broker): number {
  const free = broker.diskAlarm?.free ?? -1;
  return free < 0 ? 0 : free;
}
