// What a person does in the management UI, as Playwright steps, so that the same flows run
// against Warren and against RabbitMQ's management API (the UI is only a client of it).
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

export async function login(page: Page, url: string, user = 'guest', password = 'guest'): Promise<void> {
  await page.goto(url);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.click('form button[type=submit]');
}

/** Waits for the notice line to say `text` (an exact match of its start). */
export async function expectNotice(page: Page, text: string | RegExp): Promise<void> {
  const notice = page.locator('[data-testid=notice]');
  await notice.waitFor();
  await expect.poll(async () => (await notice.textContent()) ?? '', { timeout: 10_000 }).toMatch(text instanceof RegExp ? text : new RegExp(`^${escape(text)}`));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Opens a collapsed section by its title. */
export async function openSection(page: Page, testId: string): Promise<void> {
  const section = page.locator(`[data-testid=${testId}]`);
  if ((await section.getAttribute('open')) === null) await section.locator('summary').click();
}

/** Adds a classic queue through Queues → "Add a new queue", then opens its page. */
export async function addQueue(page: Page, url: string, vhost: string, name: string): Promise<void> {
  await page.goto(`${url}#/queues`);
  await openSection(page, 'add-queue');
  const form = page.locator('[data-testid=add-queue-form]');
  await form.locator('select[name=vhost]').selectOption(vhost);
  await form.locator('input[name=name]').fill(name);
  await form.locator('button[type=submit]').click();
  await expectNotice(page, `Queue ${name} added.`);
  await page.locator('[data-testid=queues]').getByRole('link', { name, exact: true }).click();
  await page.locator('[data-testid=queue-page]').waitFor();
}

/** On a queue's page: publish one message through the default exchange. */
export async function publishToQueue(page: Page, payload: string, header?: [string, string]): Promise<void> {
  await openSection(page, 'publish');
  const form = page.locator('[data-testid=publish-form]');
  if (header !== undefined) {
    const row = form.locator('.arg-row').first();
    await row.locator('input').nth(0).fill(header[0]);
    await row.locator('input').nth(1).fill(header[1]);
  }
  await form.locator('textarea[name=payload]').fill(payload);
  await form.locator('button[type=submit]').click();
  await expectNotice(page, 'Message published.');
}

/** On a queue's page: get messages with an ack mode; returns the payloads shown. */
export async function getMessages(page: Page, ackmode: string, count = 1): Promise<string[]> {
  await openSection(page, 'get');
  const form = page.locator('[data-testid=get-form]');
  await form.locator('select[name=ackmode]').selectOption(ackmode);
  await form.locator('input[name=count]').fill(String(count));
  await form.locator('button[type=submit]').click();
  await expectNotice(page, /message|empty/);
  return page.locator('[data-testid=payload]').allTextContents();
}

/** The number a queue page shows under one of its totals (Ready, Unacked, Total, Consumers). */
export async function queueTotal(page: Page, which: 'ready' | 'unacked' | 'total' | 'consumers'): Promise<number> {
  const text = (await page.locator(`[data-testid=queue-${which}]`).textContent()) ?? '';
  return Number(text.replace(/,/g, ''));
}

/** Admin → Virtual hosts → "Add a new virtual host". */
export async function addVhost(page: Page, url: string, name: string): Promise<void> {
  await page.goto(`${url}#/admin/vhosts`);
  await openSection(page, 'add-vhost');
  const form = page.locator('[data-testid=add-vhost] form');
  await form.locator('input[name=name]').fill(name);
  await form.locator('button[type=submit]').click();
  await expectNotice(page, `Virtual host ${name} added.`);
}

/** Admin → Users → "Add a user", then the user's page. */
export async function addUser(page: Page, url: string, name: string, password: string, tags: string): Promise<void> {
  await page.goto(`${url}#/admin/users`);
  await openSection(page, 'add-user');
  const form = page.locator('[data-testid=add-user] form');
  await form.locator('input[name=username]').fill(name);
  await form.locator('input[name=password]').fill(password);
  await form.locator('input[name=password2]').fill(password);
  await form.locator('input[name=tags]').fill(tags);
  await form.locator('button[type=submit]').click();
  await expectNotice(page, `User ${name} added.`);
  await page.locator('[data-testid=users]').getByRole('link', { name, exact: true }).click();
}

/** On a user's page: permissions in one vhost. */
export async function setPermission(page: Page, vhost: string, configure: string, write: string, read: string): Promise<void> {
  const form = page.locator('[data-testid=permission-form]');
  await form.locator('select[name=vhost]').selectOption(vhost);
  await form.locator('input[name=configure]').fill(configure);
  await form.locator('input[name=write]').fill(write);
  await form.locator('input[name=read]').fill(read);
  await form.locator('button[type=submit]').click();
  await expectNotice(page, /^Permissions of .* set\./);
}

/** On a user's or vhost's page: one limit. */
export async function setLimit(page: Page, limit: string, value: number): Promise<void> {
  const form = page.locator('[data-testid=limit-form]');
  await form.locator('select[name=limit]').selectOption(limit);
  await form.locator('input[name=value]').fill(String(value));
  await form.locator('button[type=submit]').click();
  await expectNotice(page, `Limit ${limit} set.`);
}

/** Definitions → download (all, or one vhost's); returns the parsed file. */
export async function downloadDefinitions(page: Page, url: string, vhost = ''): Promise<Record<string, unknown>> {
  await page.goto(`${url}#/definitions`);
  const form = page.locator('[data-testid=export] form');
  await form.locator('select').selectOption(vhost);
  const [download] = await Promise.all([page.waitForEvent('download'), form.locator('button[type=submit]').click()]);
  const { readFile } = await import('node:fs/promises');
  return JSON.parse(await readFile(await download.path(), 'utf8')) as Record<string, unknown>;
}

/** Definitions → upload a definitions object (into one vhost, or all). */
export async function uploadDefinitions(page: Page, url: string, defs: object, vhost = ''): Promise<void> {
  await page.goto(`${url}#/definitions`);
  const form = page.locator('[data-testid=import] form');
  await form.locator('input[name=file]').setInputFiles({ name: 'defs.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(defs)) });
  await form.locator('select').selectOption(vhost);
  await form.locator('button[type=submit]').click();
  await expectNotice(page, 'Definitions imported from defs.json');
}
