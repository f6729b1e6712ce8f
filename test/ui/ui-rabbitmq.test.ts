// The management UI against a real RabbitMQ's management API (RABBITMQ_MGMT_URL, which CI
// sets): the UI is only a client of that API, so the same flows must work there.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from '../../ui/build.js';
import { chromiumAvailable, launchChromium, type Browser } from '../../ui/chromium.js';
import { startDevServer } from '../../ui/dev-server.js';
import { addQueue, addUser, addVhost, downloadDefinitions, expectNotice, getMessages, login, openSection, publishToQueue, setLimit, setPermission, uploadDefinitions } from './flows.js';

const MGMT = process.env.RABBITMQ_MGMT_URL;
const ready = MGMT !== undefined && chromiumAvailable();
if (!ready) {
  console.warn(`skipping the UI against RabbitMQ: ${MGMT === undefined ? 'RABBITMQ_MGMT_URL is not set' : 'no Chromium at /usr/bin/chromium'}`);
}

describe.skipIf(!ready)('web UI against RabbitMQ', () => {
  let browser: Browser;
  let server: Server;
  let url: string;
  let page: Page;
  const tag = randomBytes(4).toString('hex');
  const queue = `ui-${tag}`;
  const vhost = `ui-v-${tag}`;
  const user = `ui-u-${tag}`;
  let auth: string;
  const api = async (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${new URL(MGMT!).origin}${path}`, { ...init, headers: { authorization: auth, 'content-type': 'application/json', ...init.headers } });

  beforeAll(async () => {
    const base = new URL(MGMT!);
    auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    await buildUi();
    ({ server, url } = await startDevServer(MGMT!));
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('dialog', (d) => void d.accept());
  }, 60_000);

  afterAll(async () => {
    // Whatever the tests left behind on the shared RabbitMQ goes.
    for (const path of [`/api/queues/%2F/${queue}`, `/api/users/${user}`, `/api/vhosts/${vhost}`]) {
      await api(path, { method: 'DELETE' }).catch(() => undefined);
    }
    await browser?.close();
    server?.close();
  });

  it('logs in, creates a queue, publishes and gets a message, purges and deletes it', async () => {
    await login(page, url);
    await page.locator('[data-testid=overview]').waitFor();
    expect(await page.locator('[data-testid=listeners]').textContent()).toContain('amqp');

    await addQueue(page, url, '/', queue);
    await publishToQueue(page, 'hello from the UI', ['colour', 'green']);
    expect(await getMessages(page, 'ack_requeue_true')).toEqual(['hello from the UI']);
    const props = await page.locator('[data-testid=message]').first().textContent();
    expect(props).toContain('colour');
    expect(props).toContain('green');

    await openSection(page, 'delete-purge');
    await page.locator('[data-testid=purge-queue]').click();
    await expectNotice(page, `Queue ${queue} purged.`);
    expect(await getMessages(page, 'ack_requeue_false')).toEqual([]);

    await page.locator('[data-testid=delete-queue]').click();
    await expectNotice(page, `Queue ${queue} deleted.`);
    await page.locator('[data-testid=queues]').waitFor();
  }, 60_000);

  it('adds a vhost and a user, sets permissions and limits, and moves definitions both ways', async () => {
    await addVhost(page, url, vhost);
    expect((await api(`/api/vhosts/${vhost}`)).status).toBe(200);

    await addUser(page, url, user, 's3cret', 'monitoring');
    expect(await (await api(`/api/users/${user}`)).json()).toMatchObject({ name: user, tags: ['monitoring'] });
    await setPermission(page, vhost, '^ui-.*', '.*', '');
    expect(await (await api(`/api/permissions/${vhost}/${user}`)).json()).toMatchObject({ configure: '^ui-.*', write: '.*', read: '' });
    await page.locator('[data-testid=permissions] tbody tr', { hasText: vhost }).waitFor();
    await openSection(page, 'limits-section');
    await setLimit(page, 'max-connections', 5);
    expect(await (await api(`/api/user-limits/${user}`)).json()).toMatchObject([{ user, value: { 'max-connections': 5 } }]);

    // New tags, the password left empty: the password stays.
    await openSection(page, 'update-user');
    await page.locator('[data-testid=update-user] input[name=tags]').fill('management');
    await page.locator('[data-testid=update-user] button[type=submit]').click();
    await expectNotice(page, `User ${user} updated.`);
    expect(await (await api(`/api/users/${user}`)).json()).toMatchObject({ tags: ['management'] });
    const asUser = `Basic ${Buffer.from(`${user}:s3cret`).toString('base64')}`;
    expect((await api('/api/whoami', { headers: { authorization: asUser } })).status).toBe(200);

    await page.goto(`${url}#/vhosts/${encodeURIComponent(vhost)}`);
    await setLimit(page, 'max-queues', 10);
    expect(await (await api(`/api/vhost-limits/${vhost}`)).json()).toMatchObject([{ vhost, value: { 'max-queues': 10 } }]);

    await uploadDefinitions(page, url, { queues: [{ name: 'ui-imported', durable: true, auto_delete: false, arguments: {} }] }, vhost);
    expect((await api(`/api/queues/${vhost}/ui-imported`)).status).toBe(200);
    const defs = await downloadDefinitions(page, url, vhost);
    expect(defs.queues).toMatchObject([{ name: 'ui-imported', durable: true }]);

    await page.goto(`${url}#/users/${encodeURIComponent(user)}`);
    await openSection(page, 'delete-user');
    await page.locator('[data-testid=delete-user] button').click();
    await expectNotice(page, `User ${user} deleted.`);
    expect((await api(`/api/users/${user}`)).status).toBe(404);

    await page.goto(`${url}#/vhosts/${encodeURIComponent(vhost)}`);
    await openSection(page, 'delete-vhost');
    await page.locator('[data-testid=delete-vhost] button').click();
    await expectNotice(page, `Virtual host ${vhost} deleted.`);
    expect((await api(`/api/vhosts/${vhost}`)).status).toBe(404);
  }, 60_000);
});
