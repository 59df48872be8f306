/**
 * `shadow-lab demo --dashboard` as a newcomer runs it: the demo (a real child process, the
 * bin) prints the dashboard's URL; a real headless Chromium opens it and must show a card for
 * every device of the demo and, within the faults the demo injects, recoveries on the
 * timeline, with no console error. Then ^C (SIGINT) ends the demo as a user would: it still
 * verifies everything and prints PASS.
 *
 * With SHADOW_UPDATE_SCREENSHOT=1 the page is photographed during the demo into
 * docs/dashboard.png (the picture the README shows). A normal run writes nothing, so the test
 * never dirties the tree: `SHADOW_UPDATE_SCREENSHOT=1 node scripts/run-tests.mjs demo-dashboard`.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';

const bin = fileURLToPath(new URL('../../../bin/shadow-lab.js', import.meta.url));
const screenshot = fileURLToPath(new URL('../../../../../docs/dashboard.png', import.meta.url));
const DEADLINE = 60_000;
/** The demo's age at the picture: its recoveries spread over a third of the timeline's two minutes. */
const PICTURE_AT_S = 40;

/** The demo's devices: the data-set disks, the bank's, the NICs, the sound cards, and ext4's when mke2fs exists. */
function demoDevices(): string[] {
  const disks = ['ram0', 'file0', 'db0', ...(requires('mke2fs') ? [] : ['fs0'])];
  return [...disks, 'net0', 'net1', 'net2', 'pcm0', 'cap0'];
}

/** The demo as a child process: its stdout, stderr, the dashboard URL it prints, and its exit. */
function startDemo() {
  // A long duration: the test ends the demo itself with ^C once it has seen what it needs.
  const child = spawn(process.execPath, [bin, 'demo', '--dashboard', '--duration', '600'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // The URL line, as soon as it is printed; the demo's exit or the deadline first is a failure.
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard URL within ${DEADLINE} ms: ${stderr}`)), DEADLINE);
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      const found = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)$/m.exec(stderr)?.[1];
      if (found) { clearTimeout(timer); resolve(found); }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`the demo exited (${code}) before printing its URL: ${stderr}`)); });
  });
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  return { child, exited, url, stdout: () => stdout, stderr: () => stderr };
}

test('shadow-lab demo --dashboard: every device of the demo on the page, its recoveries on the timeline, no console error; ^C still verifies and passes',
  { skip: requires('chromium'), timeout: 300_000 }, async () => {
    const before = snapshot();
    const demo = startDemo();
    let browser: Browser | undefined;
    try {
      const url = await demo.url;
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless'] });
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
      await page.goto(url);
      await page.locator('#connection[data-state="connected"]').waitFor({ timeout: DEADLINE });
      const devices = demoDevices();
      for (const name of devices) await page.locator(`.card[data-device="${name}"]`).waitFor({ timeout: DEADLINE });
      assert.equal(await page.locator('.card').count(), devices.length, `the page's cards: ${await page.locator('.card h3').allInnerTexts()}`);

      // The demo's own faults: recoveries appear on the timeline, each with its cause and phases.
      const recoveries = page.locator('#timeline .bar[data-type="recovery"]');
      await recoveries.first().waitFor({ timeout: DEADLINE });
      assert.match(await recoveries.first().getAttribute('data-cause') ?? '', /^[a-z-]+$/);
      assert.match(await recoveries.first().getAttribute('aria-label') ?? '', /: recovered from .* in [\d.]+ ms .*phases: .*ms/);

      if (process.env.SHADOW_UPDATE_SCREENSHOT === '1') {
        await page.waitForFunction((age) => {
          const uptime = document.querySelector('.card[data-device="ram0"] dd[data-field="uptime"]')?.textContent ?? '';
          return / min /.test(uptime) || Number(/^(\d+) s$/.exec(uptime)?.[1] ?? 0) >= age;
        }, PICTURE_AT_S, { timeout: DEADLINE * 2 });
        await page.waitForFunction(() => [...document.querySelectorAll('.card dd[data-field="requests/s"]')].some((d) => /^\d/.test(d.textContent ?? '')), undefined, { timeout: DEADLINE });
        await recoveries.last().focus(); // its phases in the detail line
        await page.screenshot({ path: screenshot, fullPage: true });
      }
      assert.deepEqual(errors, []);
      await browser.close();
      browser = undefined;

      // ^C: the faults stop, the data set is verified, everything is cleaned up; the run passed.
      demo.child.kill('SIGINT');
      assert.equal(await demo.exited, 130, demo.stderr());
      assert.match(demo.stdout(), /^PASS: /m, demo.stdout());
    } finally {
      await browser?.close();
      if (demo.child.exitCode === null) { demo.child.kill('SIGKILL'); await demo.exited; }
    }
    await expectNoLeaks(before);
  });
