/**
 * The dashboard as an operator sees it: `shadowd run` (a real child process) with several
 * devices, its page driven in a real headless Chromium. The page shows every device; a fault
 * injected from the CLI appears on the timeline with its cause; the page's inject action works
 * with the token and is refused (403, SD_ERR_PERMISSION) without it; so is its update action
 * (driven from the keyboard: a new version switches in, a broken one rolls back with its
 * cause, each shown on the card and the timeline); killing the service shows
 * "disconnected", starting it again reconnects by itself; the page logs no console error.
 * A second test runs startDashboard (the public subpath the lab's demo uses) on a bare Runtime
 * and reads its event stream and actions over HTTP, with no browser.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { createRuntime } from '../../src/index.js';
import { requires } from '../../src/testing/requires.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { ServiceProcess, shadowdOk } from '../helpers/service-process.js';

const DEADLINE = 15_000;
const devices = ['disk0', 'disk1', 'disk2'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

function config(port: number): string {
  const device = (name: string, domain: string) => [`  ${name}:`, '    class: block', '    driver: ram', `    domain: ${domain}`,
    '    restart: { intensity: 1000 }', `    config: { sizeBytes: ${16 * 1024 * 1024} }`, `    frontend: { type: nbd, socket: ${name}.sock }`];
  return ['control: ctl.sock', `metrics: 127.0.0.1:${port}`, 'faultDrills: true', 'devices:',
    ...device('disk0', 'worker'), ...device('disk1', 'process'), ...device('disk2', 'worker'), ''].join('\n');
}

/** Console errors and uncaught exceptions of a page, except those `expected` says are the test's own doing. */
function watchErrors(page: Page, expected: () => RegExp | undefined): string[] {
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' && !expected()?.test(m.text())) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}

const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/drivers/${name}.js`, import.meta.url));
/** An update waits for the new version's probation (10 s with no traffic) before it answers. */
const UPDATE_DEADLINE = 60_000;

const bar = (device: string, cause: string) => `#timeline .bar[data-type="recovery"][data-device="${device}"][data-cause="${cause}"]`;

async function injectFromPage(page: Page, device: string, kind: string): Promise<string> {
  const card = page.locator(`.card[data-device="${device}"]`);
  await card.locator('select[data-role="kind"]').selectOption(kind);
  await page.locator('#action-result').evaluate((n) => { n.textContent = ''; });
  await card.locator('button[data-action="inject"]').click();
  await page.locator('#confirm[open]').waitFor({ timeout: DEADLINE });
  await page.locator('#confirm-ok').click();
  await page.waitForFunction(() => (document.getElementById('action-result')?.textContent ?? '') !== '', undefined, { timeout: DEADLINE });
  return page.locator('#action-result').innerText();
}

/**
 * The page's update action from the keyboard only: focus the card's driver field, type, Tab to
 * "Update…", Enter; the dialog opens on Cancel, Tab to "Do it", Enter. Returns the result line.
 */
async function updateFromPage(page: Page, device: string, driver: string): Promise<string> {
  const card = page.locator(`.card[data-device="${device}"]`);
  await page.locator('#action-result').evaluate((n) => { n.textContent = ''; });
  await card.locator('input[data-role="driver"]').focus();
  await page.keyboard.type(driver);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'update', 'Tab goes from the field to its button');
  await page.keyboard.press('Enter');
  await page.locator('#confirm[open]').waitFor({ timeout: DEADLINE });
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLButtonElement | null)?.value), 'cancel', 'the dialog opens on its safe choice');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /^(updated|rolled back|refused|failed)/.test(document.getElementById('action-result')?.textContent ?? ''), undefined, { timeout: UPDATE_DEADLINE });
  await card.locator('input[data-role="driver"]').fill('');
  return page.locator('#action-result').innerText();
}

test('dashboard: devices, timeline, actions with and without the token, disconnect and reconnect, no console errors',
  { skip: requires('chromium'), timeout: 180_000 }, async () => {
    const before = snapshot();
    const dir = mkdtempSync(join(tmpdir(), 'shadowd-dashboard-'));
    const control = join(dir, 'ctl.sock');
    const port = await freePort();
    writeFileSync(join(dir, 'shadowd.yaml'), config(port));
    let service: ServiceProcess | undefined;
    let browser: Browser | undefined;
    try {
      service = new ServiceProcess(['shadowd.yaml'], { cwd: dir });
      const url = String((await service.ready()).dashboard);
      assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/#token=[A-Za-z0-9_-]{20,}$`));
      const origin = url.slice(0, url.indexOf('#'));
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless'] });
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      let outage = false; // while the service is down, the browser reports each refused reconnect
      const errors = watchErrors(page, () => (outage ? /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_INCOMPLETE_CHUNKED_ENCODING/ : undefined));
      await page.goto(url);
      await page.locator('#connection[data-state="connected"]').waitFor({ timeout: DEADLINE });
      for (const name of devices) await page.locator(`.card[data-device="${name}"][data-state="running"]`).waitFor({ timeout: DEADLINE });
      assert.equal(await page.locator('.card').count(), devices.length);
      assert.equal(new URL(page.url()).hash, '', 'the token is dropped from the address bar');

      // shadowd inject from the CLI: the recovery appears on the timeline with its cause.
      await shadowdOk(['inject', 'disk1', 'throw', '--control', control]);
      await page.locator(bar('disk1', 'exception')).waitFor({ timeout: DEADLINE });
      assert.match(await page.locator(bar('disk1', 'exception')).first().getAttribute('aria-label') ?? '', /phases: .*ms/);

      // The page's action, with the token: confirmed, done, recovered.
      assert.match(await injectFromPage(page, 'disk0', 'kill'), /^done/);
      await page.locator(bar('disk0', 'exit')).waitFor({ timeout: DEADLINE });

      // Without the token: the page's action and a bare request are refused with a coded line.
      const stranger = await browser.newPage();
      await stranger.goto(origin);
      await stranger.locator('.card[data-device="disk2"]').waitFor({ timeout: DEADLINE });
      assert.match(await injectFromPage(stranger, 'disk2', 'throw'), /^refused: SD_ERR_PERMISSION: /);
      const bare = await fetch(`${origin}api/inject`, { method: 'POST', body: JSON.stringify({ device: 'disk2', kind: 'throw' }) });
      assert.equal(bare.status, 403);
      assert.equal(((await bare.json()) as { code: string }).code, 'SD_ERR_PERMISSION');
      const wrong = await fetch(`${origin}api/restart`, { method: 'POST', headers: { authorization: 'Bearer not-the-token' }, body: '{"device":"disk2"}' });
      assert.equal(wrong.status, 403);
      assert.match(await updateFromPage(stranger, 'disk2', fixturePath('ram-v2')), /^refused: SD_ERR_PERMISSION: /);
      const bareUpdate = await fetch(`${origin}api/update`, { method: 'POST', body: JSON.stringify({ device: 'disk2', driver: fixturePath('ram-v2') }) });
      assert.deepEqual([bareUpdate.status, ((await bareUpdate.json()) as { code: string }).code], [403, 'SD_ERR_PERMISSION']);
      await stranger.close();
      const status = JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as { device: string; failures: number; version: string; lastUpdate: unknown }[];
      const disk2 = status.find((s) => s.device === 'disk2')!;
      assert.deepEqual([disk2.failures, disk2.version, disk2.lastUpdate], [0, 'ram', null], 'a refused action did nothing');

      // The update action, with the token: a new version switches in; a broken one rolls back, saying why.
      assert.match(await updateFromPage(page, 'disk2', fixturePath('ram-v2')), /^updated disk2: ram -> ram-v2\.js \(pause [\d.]+ ms\)$/);
      await page.locator('#timeline .bar[data-type="update-switched"][data-device="disk2"]').waitFor({ timeout: DEADLINE });
      const driverField = page.locator('.card[data-device="disk2"] dd[data-field="driver"]');
      await page.waitForFunction(() => document.querySelector('.card[data-device="disk2"] dd[data-field="driver"]')?.textContent === 'ram-v2.js', undefined, { timeout: DEADLINE });
      assert.equal(await driverField.innerText(), 'ram-v2.js');
      assert.match(await updateFromPage(page, 'disk2', fixturePath('unregistered')),
        /^rolled back disk2 to ram-v2\.js: unregistered\.js failed in init: init completed without registering the device$/);
      const rolledBack = page.locator('#timeline .bar[data-type="update-rolled-back"][data-device="disk2"]');
      await rolledBack.waitFor({ timeout: DEADLINE });
      assert.match(await rolledBack.getAttribute('aria-label') ?? '', /rolled back .*failed in init: init completed without registering the device/);
      await page.waitForFunction(() => /rolled back \(init: /.test(document.querySelector('.card[data-device="disk2"] dd[data-field="last update"]')?.textContent ?? ''), undefined, { timeout: DEADLINE });
      assert.equal(await driverField.innerText(), 'ram-v2.js', 'the version that ran before still runs');
      const afterUpdates = JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as { device: string; state: string; version: string }[];
      const updated = afterUpdates.find((s) => s.device === 'disk2')!;
      assert.equal(updated.state, 'running');
      assert.match(updated.version, /ram-v2\.js$/);

      // The service dies: the page says so; a new service on the same address: it reconnects by itself.
      outage = true;
      service.child.kill('SIGKILL');
      await service.exited;
      await page.locator('#connection[data-state="disconnected"]').waitFor({ timeout: DEADLINE });
      service = new ServiceProcess(['shadowd.yaml'], { cwd: dir });
      await service.ready();
      await page.locator('#connection[data-state="connected"]').waitFor({ timeout: DEADLINE });
      outage = false;
      for (const name of devices) await page.locator(`.card[data-device="${name}"][data-state="running"]`).waitFor({ timeout: DEADLINE });
      assert.deepEqual(errors, []);
    } finally {
      await browser?.close();
      if (service) await service.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    await expectNoLeaks(before);
  });

/** The event stream of a dashboard, read as a page reads it: each `event:`/`data:` pair. */
function stream(origin: string): { next(type: string, match?: (data: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>; close(): void } {
  const seen: { type: string; data: Record<string, unknown> }[] = [];
  const waiters = new Set<() => void>();
  const controller = new AbortController();
  void fetch(`${origin}events`, { signal: controller.signal }).then(async (res) => {
    let buffered = '';
    for await (const chunk of res.body!) {
      buffered += Buffer.from(chunk).toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type && data) seen.push({ type, data: JSON.parse(data) as Record<string, unknown> });
      }
      for (const wake of waiters) wake();
    }
  }).catch(() => undefined);
  return {
    next: (type, match = () => true) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`no ${type} event within ${DEADLINE} ms`)); }, DEADLINE);
      const check = () => {
        const found = seen.find((e) => e.type === type && match(e.data));
        if (found) { clearTimeout(timer); waiters.delete(check); resolve(found.data); }
      };
      waiters.add(check);
      check();
    }),
    close: () => controller.abort(),
  };
}

test('startDashboard on a bare Runtime (shadow-drivers/dashboard): hello with the devices, actions (inject, update) with the token, their events pushed; none without it', { timeout: 90_000 }, async () => {
  const before = snapshot();
  const runtime = createRuntime({ faultInjection: true });
  let dashboard: Dashboard | undefined;
  let events: ReturnType<typeof stream> | undefined;
  try {
    await runtime.attachBlock({ name: 'ram0', driver: 'ram', config: { sizeBytes: 1024 * 1024 } });
    dashboard = await startDashboard(runtime, { token: 'a-token-of-the-test', requests: (device) => (device === 'ram0' ? 42 : undefined) });
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=a-token-of-the-test$/);
    events = stream(dashboard.origin);
    const hello = await events.next('hello');
    assert.deepEqual((hello.devices as { device: string; requests: number; state: string }[]).map((d) => [d.device, d.state, d.requests]), [['ram0', 'running', 42]]);
    assert.ok((hello.faultKinds as string[]).includes('throw'));
    const act = (token: string | undefined, body: object) => fetch(`${dashboard!.origin}api/inject`, {
      method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body: JSON.stringify(body) });
    const refused = await act(undefined, { device: 'ram0', kind: 'throw' });
    assert.deepEqual([refused.status, ((await refused.json()) as { code: string }).code], [403, 'SD_ERR_PERMISSION']);
    const unknown = await act('a-token-of-the-test', { device: 'nope', kind: 'throw' });
    assert.deepEqual([unknown.status, ((await unknown.json()) as { code: string }).code], [404, 'SD_ERR_NOT_FOUND']);
    const done = await act('a-token-of-the-test', { device: 'ram0', kind: 'throw' });
    assert.equal(done.status, 200);
    const recovery = await events.next('event', (e) => e.type === 'recovery');
    assert.equal(recovery.device, 'ram0');
    assert.equal(recovery.cause, 'exception');
    assert.equal(runtime.status('ram0')!.recoveries, 1, 'only the action with the token reached the driver');

    // The update action on the bare Runtime: refused without the token or a driver; with both, a live update.
    const update = (token: string | undefined, body: object) => fetch(`${dashboard!.origin}api/update`, {
      method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body: JSON.stringify(body) });
    const noToken = await update(undefined, { device: 'ram0', driver: fixturePath('ram-v2') });
    assert.deepEqual([noToken.status, ((await noToken.json()) as { code: string }).code], [403, 'SD_ERR_PERMISSION']);
    const noDriver = await update('a-token-of-the-test', { device: 'ram0', driver: ' ' });
    assert.deepEqual([noDriver.status, ((await noDriver.json()) as { code: string }).code], [400, 'SD_ERR_INVALID_ARGUMENT']);
    assert.deepEqual((hello.drivers as Record<string, string[]>).block.includes('ram'), true, 'the page is offered the catalogue\'s drivers');
    const switched = await update('a-token-of-the-test', { device: 'ram0', driver: fixturePath('ram-v2') });
    const report = ((await switched.json()) as { result: { outcome: string; to: string } }).result;
    assert.equal(switched.status, 200);
    assert.equal(report.outcome, 'switched');
    assert.match(report.to, /ram-v2\.js$/);
    const pushed = await events.next('event', (e) => e.type === 'update-switched');
    assert.equal(pushed.device, 'ram0');
    assert.match(runtime.status('ram0')!.version, /ram-v2\.js$/);
  } finally {
    events?.close();
    await dashboard?.close();
    await runtime.close();
  }
  await expectNoLeaks(before);
});
