// The management UI against a real RabbitMQ's management API (RABBITMQ_MGMT_URL, which CI
// sets): the UI is only a client of that API, so the same flows must work there.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from '../../ui/build.js';
import { chromiumAvailable, launchChromium, type Browser } from '../../ui/chromium.js';
import { startDevServer } from '../../ui/dev-server.js';
import { addQueue, expectNotice, getMessages, login, openSection, publishToQueue } from './flows.js';

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
  const queue = `ui-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    await buildUi();
    ({ server, url } = await startDevServer(MGMT!));
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('dialog', (d) => void d.accept());
  }, 60_000);

  afterAll(async () => {
    // Whatever the test left behind on the shared RabbitMQ goes.
    const base = new URL(MGMT!);
    const auth = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    await fetch(`${base.origin}/api/queues/%2F/${queue}`, { method: 'DELETE', headers: { authorization: auth } }).catch(() => undefined);
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
});
