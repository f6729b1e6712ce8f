// The management web UI in Debian's headless Chromium, against Warren's own management
// server: log in, create a queue, publish and get a message, watch the rate chart move,
// page through 10,000 queues, close a connection, work with exchanges and policies. Each
// step is checked on the broker too (amqplib or the API), not only on the screen.
import amqp from 'amqplib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../server/index.js';
import { buildUi } from '../../ui/build.js';
import { chromiumAvailable, launchChromium, type Browser } from '../../ui/chromium.js';
import { addQueue, addUser, addVhost, downloadDefinitions, expectNotice, getMessages, login, openSection, publishToQueue, queueTotal, setLimit, setPermission, uploadDefinitions } from './flows.js';

const ready = chromiumAvailable();
if (!ready) console.warn('skipping the web UI tests: no Chromium at /usr/bin/chromium (Debian package chromium)');

describe.skipIf(!ready)('web UI', () => {
  let broker: RunningBroker;
  let browser: Browser;
  let page: Page;
  let url: string;
  let conn: amqp.ChannelModel;
  let ch: amqp.Channel;
  const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
  const api = async (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${broker.managementUrl}${path}`, { ...init, headers: { authorization: auth, 'content-type': 'application/json', ...init.headers } });

  beforeAll(async () => {
    await buildUi();
    broker = await startBroker({ managementPort: 0, collectStatisticsInterval: 1000 });
    url = `${broker.managementUrl}/`;
    conn = await amqp.connect(broker.url);
    ch = await conn.createChannel();
    browser = await launchChromium();
    page = await browser.context.newPage();
  }, 60_000);

  afterAll(async () => {
    await conn?.close().catch(() => undefined);
    await browser?.close();
    await broker?.close();
  });

  it('refuses a wrong password, then logs in and shows the overview', async () => {
    await login(page, url, 'guest', 'wrong');
    await expect.poll(() => page.locator('[data-testid=login-error]').textContent()).toBe('Login failed');
    await login(page, url);
    await page.locator('[data-testid=overview]').waitFor();
    expect(await page.locator('[data-testid=user]').textContent()).toBe('guest');
    const listeners = await page.locator('[data-testid=listeners] tbody tr').allTextContents();
    expect(listeners).toContain(`amqp127.0.0.1${broker.port}`);
    // The credentials live in sessionStorage: a reload keeps the session.
    await page.reload();
    await page.locator('[data-testid=overview]').waitFor();
  });

  it('creates a queue, publishes and gets a message, purges and deletes the queue', async () => {
    await addQueue(page, url, '/', 'ui-q');
    expect((await ch.checkQueue('ui-q')).messageCount).toBe(0);

    await publishToQueue(page, 'hello from the UI', ['colour', 'green']);
    await expect.poll(() => queueTotal(page, 'ready'), { timeout: 10_000 }).toBe(1);
    // Requeued: the message is shown and stays in the queue.
    expect(await getMessages(page, 'ack_requeue_true')).toEqual(['hello from the UI']);
    expect(await page.locator('[data-testid=message]').first().textContent()).toMatch(/colour.*green/);
    expect((await ch.checkQueue('ui-q')).messageCount).toBe(1);
    // Acked: shown once more, then gone.
    expect(await getMessages(page, 'ack_requeue_false')).toEqual(['hello from the UI']);
    expect((await ch.checkQueue('ui-q')).messageCount).toBe(0);

    ch.sendToQueue('ui-q', Buffer.from('one'));
    ch.sendToQueue('ui-q', Buffer.from('two'));
    await expect.poll(async () => (await ch.checkQueue('ui-q')).messageCount).toBe(2);
    page.once('dialog', (d) => void d.accept());
    await openSection(page, 'delete-purge');
    await page.locator('[data-testid=purge-queue]').click();
    await expectNotice(page, 'Queue ui-q purged.');
    expect((await ch.checkQueue('ui-q')).messageCount).toBe(0);

    page.once('dialog', (d) => void d.accept());
    await page.locator('[data-testid=delete-queue]').click();
    await expectNotice(page, 'Queue ui-q deleted.');
    expect((await api('/api/queues/%2F/ui-q')).status).toBe(404);
  });

  it('moves the message-rate chart while a client publishes', async () => {
    await ch.assertQueue('ui-rates', { autoDelete: false });
    try {
      await page.goto(url);
      await page.locator('select[name=refresh]').selectOption('1000');
      const chart = page.locator('[data-testid=chart-rates]');
      const publishRate = chart.locator('[data-series=Publish]');
      const samples = async (): Promise<number> => Number(await chart.getAttribute('data-samples'));
      const rate = async (): Promise<number> => parseFloat((await publishRate.textContent()) ?? '0');
      // Quiet first: the rates of earlier tests have died down.
      await expect.poll(rate, { timeout: 15_000 }).toBe(0);
      const samplesBefore = await samples();
      const before = await chart.locator('canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());

      // 20 messages every 50 ms until the chart has drawn a publish rate (at most 20 s).
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && !((await rate()) > 0 && (await samples()) > samplesBefore)) {
        for (let i = 0; i < 20; i++) ch.sendToQueue('ui-rates', Buffer.from('tick'));
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await rate()).toBeGreaterThan(0);
      expect(await samples()).toBeGreaterThan(samplesBefore);
      const after = await chart.locator('canvas').evaluate((c: HTMLCanvasElement) => c.toDataURL());
      expect(after).not.toBe(before);
      // The queued-messages chart and the totals saw the messages too.
      expect(Number((await page.locator('[data-testid=chart-lengths] [data-series=Ready]').textContent())?.replace(/,/g, ''))).toBeGreaterThan(0);
    } finally {
      await ch.deleteQueue('ui-rates');
    }
  }, 60_000);

  it('pages, filters and sorts 10,000 queues on the broker', async () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `page-${String(i).padStart(5, '0')}`);
    const bulk = await conn.createChannel();
    await Promise.all(names.map((n) => bulk.assertQueue(n, { autoDelete: false, durable: false })));
    try {
      await page.goto(`${url}#/queues`);
      const counts = page.locator('[data-testid=list-counts]');
      await expect.poll(() => counts.textContent(), { timeout: 10_000 }).toBe('1–100 of 10,000 queues');
      expect(await page.locator('[data-testid=queues] tbody tr').count()).toBe(100);

      // Sorted by name; a click on the header reverses it. The broker sorts, the page shows
      // its first 100.
      const nameHeader = page.locator('[data-testid=queues] th', { hasText: 'Name' });
      expect(await nameHeader.textContent()).toBe('Name ▲');
      await nameHeader.click();
      expect(await nameHeader.textContent()).toBe('Name ▼');
      await expect.poll(() => page.locator('[data-testid=queues] tbody tr td a').first().textContent()).toBe('page-09999');

      // The last page, then a plain filter and a regular expression.
      await page.locator('select[name=page]').selectOption('100');
      await expect.poll(() => counts.textContent()).toBe('9,901–10,000 of 10,000 queues');
      await expect.poll(() => page.locator('[data-testid=queues] tbody tr td a').first().textContent()).toBe('page-00099');
      await page.locator('input[name=filter]').fill('page-0420');
      await expect.poll(() => counts.textContent()).toBe('1–10 of 10 matching (10,000 queues in all)');
      await page.locator('input[name=filter]').fill('^page-0000[0-4]$');
      await page.getByLabel('Regex').check();
      await expect.poll(() => counts.textContent()).toBe('1–5 of 5 matching (10,000 queues in all)');
      expect(await page.locator('[data-testid=queues] tbody tr td a').allTextContents()).toEqual(['page-00004', 'page-00003', 'page-00002', 'page-00001', 'page-00000']);
      await page.locator('input[name=filter]').fill('');
      await page.getByLabel('Regex').uncheck();
    } finally {
      await Promise.all(names.map((n) => bulk.deleteQueue(n)));
      await bulk.close();
    }
  }, 60_000);

  it('closes a connection, and the client sees 320 with the reason given', async () => {
    const victim = await amqp.connect(broker.url, { clientProperties: { connection_name: 'ui-victim' } });
    // amqplib reports a 320 as a 'close' with the error, not as an 'error'.
    const closed = new Promise<Error>((resolve) => victim.on('close', resolve));
    await page.goto(`${url}#/connections`);
    const row = page.locator('[data-testid=connections] tbody tr', { hasText: 'ui-victim' });
    await row.waitFor({ timeout: 10_000 });
    page.once('dialog', (d) => void d.accept('bye from the UI'));
    await row.locator('[data-testid=close-connection]').click();
    const err = (await closed) as Error & { code?: number };
    expect(err.code).toBe(320);
    expect(err.message).toContain('CONNECTION_FORCED - bye from the UI');
  });

  it('adds an exchange, binds a queue to it, and publishes through it', async () => {
    await ch.assertQueue('ui-bound', { autoDelete: false });
    await page.goto(`${url}#/exchanges`);
    await openSection(page, 'add-exchange');
    const form = page.locator('[data-testid=add-exchange] form');
    await form.locator('input[name=name]').fill('ui-x');
    await form.locator('select[name=type]').selectOption('topic');
    await form.locator('button[type=submit]').click();
    await expectNotice(page, 'Exchange ui-x added.');
    await ch.checkExchange('ui-x');

    await page.locator('[data-testid=exchanges]').getByRole('link', { name: 'ui-x', exact: true }).click();
    const bind = page.locator('[data-testid=add-binding]');
    await bind.locator('input[name=destination]').fill('ui-bound');
    await bind.locator('input[name=binding_key]').fill('orders.#');
    await bind.locator('button[type=submit]').click();
    await expectNotice(page, 'Binding added.');
    await expect.poll(() => page.locator('[data-testid=bindings-source] tbody').textContent()).toContain('orders.#');

    await openSection(page, 'publish');
    const pub = page.locator('[data-testid=publish-form]');
    await pub.locator('input[name=routing_key]').fill('orders.eu');
    await pub.locator('textarea[name=payload]').fill('routed');
    await pub.locator('button[type=submit]').click();
    await expectNotice(page, 'Message published.');
    await pub.locator('input[name=routing_key]').fill('nowhere');
    await pub.locator('button[type=submit]').click();
    await expectNotice(page, 'Message published, but not routed.');
    const got = await ch.get('ui-bound', { noAck: true });
    expect(got && got.content.toString()).toBe('routed');
    expect(got && got.fields.routingKey).toBe('orders.eu');
    expect(await ch.get('ui-bound', { noAck: true })).toBe(false);
    await ch.deleteExchange('ui-x');
    await ch.deleteQueue('ui-bound');
  });

  it('sets and clears a policy in Admin', async () => {
    await page.goto(`${url}#/admin/policies`);
    await openSection(page, 'add-policies');
    const form = page.locator('[data-testid=add-policies] form');
    await form.locator('input[name=name]').fill('ui-ttl');
    await form.locator('input[name=pattern]').fill('^ui\\.');
    const row = form.locator('.arg-row').first();
    await row.locator('input').nth(0).fill('message-ttl');
    await row.locator('input').nth(1).fill('60000');
    await row.locator('select').selectOption('number');
    await form.locator('button[type=submit]').click();
    await expectNotice(page, 'Policy ui-ttl set.');
    const policy = (await (await api('/api/policies/%2F/ui-ttl')).json()) as Record<string, unknown>;
    expect(policy).toMatchObject({ name: 'ui-ttl', pattern: '^ui\\.', 'apply-to': 'all', priority: 0, definition: { 'message-ttl': 60000 } });

    const listed = page.locator('[data-testid=policies] tbody tr', { hasText: 'ui-ttl' });
    await listed.waitFor();
    await listed.getByRole('button', { name: 'Clear' }).click();
    await expectNotice(page, 'Policy ui-ttl cleared.');
    expect((await api('/api/policies/%2F/ui-ttl')).status).toBe(404);
  });

  it('adds a vhost and a user, sets permissions and limits, and moves definitions both ways', async () => {
    page.on('dialog', (d) => void d.accept());
    await addVhost(page, url, 'ui-v');
    expect(broker.broker.vhosts.has('ui-v')).toBe(true);
    await addUser(page, url, 'ui-user', 's3cret', 'monitoring');
    await setPermission(page, 'ui-v', '^ui-', '.*', '.*');
    await page.locator('[data-testid=permissions] tbody tr', { hasText: 'ui-v' }).waitFor();
    await openSection(page, 'limits-section');
    await setLimit(page, 'max-connections', 5);
    expect(await (await api('/api/user-limits/ui-user')).json()).toEqual([{ user: 'ui-user', value: { 'max-connections': 5 } }]);

    // The new user logs in over AMQP, held to what the UI gave it.
    const userConn = await amqp.connect(`${broker.url.replace('guest:guest', 'ui-user:s3cret')}/ui-v`);
    const userCh = await userConn.createChannel();
    expect((await userCh.assertQueue('ui-own')).queue).toBe('ui-own');
    userCh.on('error', () => undefined);
    await expect(userCh.assertQueue('other')).rejects.toThrow(/ACCESS_REFUSED/);
    await userConn.close();

    await page.goto(`${url}#/vhosts/ui-v`);
    await setLimit(page, 'max-queues', 10);
    expect(await (await api('/api/vhost-limits/ui-v')).json()).toEqual([{ vhost: 'ui-v', value: { 'max-queues': 10 } }]);

    await uploadDefinitions(page, url, { queues: [{ name: 'ui-imported', durable: true, auto_delete: false, arguments: {} }] }, 'ui-v');
    expect((await api('/api/queues/ui-v/ui-imported')).status).toBe(200);
    const defs = await downloadDefinitions(page, url, 'ui-v');
    expect((defs.queues as { name: string }[]).map((q) => q.name).sort()).toEqual(['ui-imported', 'ui-own']);
    const all = await downloadDefinitions(page, url);
    expect(all.users).toContainEqual(expect.objectContaining({ name: 'ui-user', tags: ['monitoring'] }));

    await page.goto(`${url}#/users/ui-user`);
    await openSection(page, 'delete-user');
    await page.locator('[data-testid=delete-user] button').click();
    await expectNotice(page, 'User ui-user deleted.');
    expect(broker.broker.access.users.has('ui-user')).toBe(false);
    await page.goto(`${url}#/vhosts/ui-v`);
    await openSection(page, 'delete-vhost');
    await page.locator('[data-testid=delete-vhost] button').click();
    await expectNotice(page, 'Virtual host ui-v deleted.');
    expect(broker.broker.vhosts.has('ui-v')).toBe(false);
    page.removeAllListeners('dialog');
  }, 60_000);

  it('logs out, and the session is gone', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('input[name=username]').waitFor();
    await page.reload();
    await page.locator('input[name=username]').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('warren.auth'))).toBeNull();
  });
});
