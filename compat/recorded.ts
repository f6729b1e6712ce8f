/**
 * What is committed with the catalog: the outcomes recorded from a real RabbitMQ
 * (compat/recorded/), and the restricted user some scenarios run as (compat/users.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { Recording } from './types.js';

export const DEFAULT_RECORDING = 'rabbitmq-3.10.json';

/** compat/recorded/, found from the sources (compat/) or from the build (dist/compat/). */
export function recordedDir(): string {
  for (const rel of ['./recorded/', '../../compat/recorded/']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL('./recorded/', import.meta.url));
}

export function loadRecording(file?: string): { path: string; recording: Recording } {
  const path = file ?? `${recordedDir()}${DEFAULT_RECORDING}`;
  const recording = JSON.parse(readFileSync(path, 'utf8')) as Recording;
  if (typeof recording.outcomes !== 'object' || recording.outcomes === null) throw new Error(`${path}: not a recording (no "outcomes")`);
  return { path, recording };
}

/**
 * The restricted user some scenarios run as (compat/users.json, RabbitMQ's definitions
 * format): `compat-restricted`, whose permissions in vhost `/` follow the object names a
 * scenario makes, `cx<token>.<letters>.<name>`: it may configure names whose letters hold
 * a c, write to those with a w, read from those with an r; plus write and read on
 * amq.topic, under topic permissions. The user must exist on both brokers: the catalog
 * test imports it into Warren and, through RabbitMQ's HTTP API (POST /api/definitions),
 * into the reference RabbitMQ; elsewhere `warren definitions import compat/users.json` or
 * `rabbitmqadmin import compat/users.json` creates it.
 */
export const RESTRICTED_USER = 'compat-restricted';

export interface CompatUsers {
  users: { name: string; password: string; tags: string[] }[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
  topic_permissions: { user: string; vhost: string; exchange: string; write: string; read: string }[];
}

/** compat/users.json, found from the sources (compat/) or from the build (dist/compat/). */
export function usersFile(): string {
  for (const rel of ['./users.json', '../../compat/users.json']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL('./users.json', import.meta.url));
}

export function compatUsers(): CompatUsers {
  return JSON.parse(readFileSync(usersFile(), 'utf8')) as CompatUsers;
}

/** The broker URL with the restricted user's credentials instead of the given ones. */
export function restrictedUrl(url: string): string {
  const u = new URL(url);
  const user = compatUsers().users.find((x) => x.name === RESTRICTED_USER)!;
  u.username = encodeURIComponent(user.name);
  u.password = encodeURIComponent(user.password);
  return u.toString();
}

/** Whether the restricted user can log in to the broker at `url` (so its scenarios can run). */
export async function restrictedUserExists(url: string): Promise<boolean> {
  try {
    const c = await amqp.connect(restrictedUrl(url));
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates the restricted user on a RabbitMQ through its management API
 * (`http://user:pass@host:port`); returns false when the user was already there.
 */
export async function provisionOnRabbitMQ(mgmtUrl: string): Promise<boolean> {
  const u = new URL(mgmtUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  const existing = await fetch(`${u.origin}/api/users/${encodeURIComponent(RESTRICTED_USER)}`, { headers: { authorization: auth } });
  const res = await fetch(`${u.origin}/api/definitions`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(compatUsers()),
  });
  if (res.status >= 300) throw new Error(`cannot create ${RESTRICTED_USER} on ${u.origin}: ${res.status} ${await res.text()}`);
  return existing.status === 404;
}

/** Deletes the restricted user from a RabbitMQ (after a run that created it). */
export async function removeFromRabbitMQ(mgmtUrl: string): Promise<void> {
  const u = new URL(mgmtUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  await fetch(`${u.origin}/api/users/${encodeURIComponent(RESTRICTED_USER)}`, { method: 'DELETE', headers: { authorization: auth } });
}
