// Takes the screenshots in docs/ui/: a Warren in this process with a busy demo topology,
// and the UI's main pages in headless Chromium at 1366x768 (and the overview at 1920x1080).
//   npm run build && node dist/ui/screenshots.js [out-dir]
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startBroker } from '../server/index.js';
import { buildUi, repoRoot } from './build.js';
import { chromiumAvailable, launchChromium } from './chromium.js';
import { startDemo } from './demo.js';

const LAPTOP = { width: 1366, height: 768 };
const DESKTOP = { width: 1920, height: 1080 };

interface Shot {
  file: string;
  hash: string;
  /** Waits for, or does, what makes the page worth showing. */
  prepare?: (page: Page) => Promise<void>;
  fullPage?: boolean;
}

const SHOTS: Shot[] = [
  { file: 'overview.png', hash: '' },
  { file: 'queues.png', hash: 'queues' },
  {
    file: 'queue.png',
    hash: 'queues/%2F/audit.log',
    fullPage: true,
    prepare: async (page) => {
      await page.locator('[data-testid=get] summary').click();
      await page.locator('[data-testid=get-form] input[name=count]').fill('2');
      await page.locator('[data-testid=get-form] button[type=submit]').click();
      await page.locator('[data-testid=message]').first().waitFor();
    },
  },
  { file: 'exchanges.png', hash: 'exchanges' },
  {
    file: 'exchange.png',
    hash: 'exchanges/%2F/orders',
    fullPage: true,
    prepare: async (page) => {
      await page.locator('[data-testid=publish] summary').click();
    },
  },
  { file: 'connections.png', hash: 'connections' },
  { file: 'channels.png', hash: 'channels' },
  { file: 'admin-users.png', hash: 'admin/users' },
  { file: 'admin-policies.png', hash: 'admin/policies' },
  { file: 'definitions.png', hash: 'definitions' },
];

export async function takeScreenshots(outDir: string): Promise<string[]> {
  await buildUi();
  // A data directory, so that the node shows its disk as a real one would.
  const dataDir = await mkdtemp(join(tmpdir(), 'warren-screenshots-'));
  const broker = await startBroker({ managementPort: 0, collectStatisticsInterval: 1000, dataDir });
  const demo = await startDemo(broker.url);
  const browser = await launchChromium(LAPTOP);
  const taken: string[] = [];
  try {
    await mkdir(outDir, { recursive: true });
    const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' };
    await fetch(`${broker.managementUrl}/api/policies/%2F/orders-ttl`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ pattern: '^orders\\.', 'apply-to': 'queues', priority: 1, definition: { 'message-ttl': 86_400_000, 'max-length': 100_000 } }),
    });
    // A few users and a second vhost, so that Admin has something to show.
    const put = (path: string, body: unknown) => fetch(`${broker.managementUrl}${path}`, { method: 'PUT', headers: auth, body: JSON.stringify(body) });
    await put('/api/vhosts/staging', { description: 'pre-production' });
    await put('/api/vhost-limits/staging/max-queues', { value: 500 });
    await put('/api/users/order-service', { password: 'demo', tags: '' });
    await put('/api/users/grafana', { password: 'demo', tags: 'monitoring' });
    await put('/api/users/ops-team', { password: 'demo', tags: 'policymaker,management' });
    await put('/api/permissions/%2F/order-service', { configure: '^orders\\.', write: '^orders$', read: '^orders\\.' });
    await put('/api/permissions/staging/ops-team', { configure: '.*', write: '.*', read: '.*' });
    await put('/api/user-limits/order-service/max-connections', { value: 20 });
    const page = await browser.context.newPage();
    const url = `${broker.managementUrl}/`;
    await page.goto(url);
    await page.locator('input[name=username]').waitFor();
    await page.fill('input[name=username]', 'guest');
    await page.screenshot({ path: join(outDir, 'login.png') });
    taken.push('login.png');
    await page.fill('input[name=password]', 'guest');
    await page.click('form button[type=submit]');
    await page.locator('[data-testid=overview]').waitFor();
    await page.locator('select[name=refresh]').selectOption('1000');
    // Let the charts gather samples while the demo traffic flows: the page keeps each
    // chart's history while the tab lives, so the queue's first, then the overview's.
    await page.goto(`${url}#/queues/%2F/audit.log`);
    await page.waitForTimeout(30_000);
    await page.goto(url);
    await page.waitForTimeout(45_000);
    for (const shot of SHOTS) {
      await page.goto(`${url}#/${shot.hash}`);
      await page.waitForTimeout(2500);
      await shot.prepare?.(page);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(outDir, shot.file), fullPage: shot.fullPage ?? false });
      taken.push(shot.file);
    }
    await page.setViewportSize(DESKTOP);
    await page.goto(url);
    await page.waitForTimeout(2500);
    await page.screenshot({ path: join(outDir, 'overview-1920.png') });
    taken.push('overview-1920.png');
  } finally {
    await browser.close();
    await demo.stop();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return taken;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!chromiumAvailable()) {
    console.error('screenshots: no Chromium at /usr/bin/chromium (apt-get install chromium)');
    process.exit(1);
  }
  const out = process.argv[2] ?? join(repoRoot(), 'docs', 'ui');
  const files = await takeScreenshots(out);
  console.log(`screenshots: ${files.length} pages in ${out}: ${files.join(', ')}`);
}
