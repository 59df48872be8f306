/**
 * Broken new versions roll back by themselves, for every class (block on `ram`, net and sound
 * on their virtual hardware), under a running, verified workload, with no application-visible
 * error; each rollback names its cause. A version that rolled back is not tried again unless
 * forced. The cases are data: each breakage of breakage.ts (ram-broken.ts for block) crossed
 * with each class.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createRuntime, type UpdateRolledBackEvent } from '../../src/index.js';
import { until, waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BLOCK } from '../../src/testing/workload.js';
import type { Breakage } from '../fixtures/drivers/breakage.js';
import { ramDisk, virtualNic, virtualSound, type Subject } from '../helpers/update-subjects.js';

const fixture = (name: string) => new URL(`../fixtures/drivers/${name}.js`, import.meta.url).href;

interface Class {
  subject: Subject;
  /** The broken version's module. */
  version(breakage: Breakage): string;
  /** The request the broken versions break, and what a refused registration says. */
  request: string;
  identity: RegExp;
  contract: RegExp;
}

/** ram-broken.ts predates breakage.ts: its names for two of the breakages. */
const ramBreakage: Partial<Record<Breakage, string>> = { 'other-identity': 'other-geometry', contract: 'short-read' };

const classes: Class[] = [
  {
    subject: ramDisk, request: 'read', identity: /expected \d+\/4096/, contract: /read of 4096 bytes returned/,
    version: (b) => (b === 'unregistered' ? fixture('unregistered') : `${fixture('ram-broken')}?${ramBreakage[b] ?? b}`),
  },
  {
    subject: virtualNic, request: 'transmit', identity: /registered 02:00:00:00:be:ef\/\d+(\/offloads \w+)?, expected/, contract: /transmit of \d+ frames returned/,
    version: (b) => `${fixture('net-broken')}?${b}`,
  },
  {
    subject: virtualSound, request: 'write', identity: /offers different capabilities/, contract: /returned number, expected nothing/,
    version: (b) => `${fixture('sound-broken')}?${b}`,
  },
];

interface Case {
  what: string;
  breakage: Breakage;
  failedIn: RegExp;
  cause(c: Class): RegExp;
}

const cases: Case[] = [
  { what: 'throws at init', breakage: 'init-throws', failedIn: /^init$/, cause: () => /cannot initialize/ },
  { what: 'never registers', breakage: 'unregistered', failedIn: /^init$/, cause: () => /without registering the device/ },
  { what: 'registers a different identity (geometry, MAC, format)', breakage: 'other-identity', failedIn: /^init$/,
    cause: (c) => new RegExp(`regist(ration refused|er): .*${c.identity.source}`) },
  { what: 'fails its 10th request', breakage: 'fails-10th', failedIn: /^(replay|probation)$/, cause: () => /fails its 10th request/ },
  { what: 'breaks the contract', breakage: 'contract', failedIn: /^probation$/,
    cause: (c) => new RegExp(`contract in ${c.request}: .*${c.contract.source}`) },
  { what: 'hangs', breakage: 'hangs', failedIn: /^probation$/, cause: (c) => new RegExp(`hang in ${c.request}: ${c.request} missed its deadline`) },
];

for (const c of classes) {
  for (const k of cases) {
    test(`${c.subject.what}: a new version that ${k.what} rolls back; the application sees no error`, async () => {
      const before = snapshot();
      const rt = createRuntime();
      const name = `${c.subject.className}0`;
      const running = await c.subject.start(rt, name, 'worker');
      try {
        const driver = c.version(k.breakage);
        const rolledBack = waitForEvent<UpdateRolledBackEvent>(rt.manager, 'update-rolled-back');
        const report = await rt.update(name, { driver, probation: { requests: 100, ms: 10_000 } });
        const event = await rolledBack;
        assert.equal(report.outcome, 'rolled-back');
        assert.match(report.failedIn!, k.failedIn);
        assert.match(report.cause!, k.cause(c));
        assert.equal(event.cause, report.cause, 'the event names the cause');
        assert.equal(event.failedIn, report.failedIn);
        assert.equal(rt.status(name)!.version, c.subject.v1, 'the previous version serves');
        assert.equal(rt.status(name)!.state, 'running');
        const progress = running.progress();
        await until(() => running.progress() > progress, 'the application to go on after the rollback');
        const done = await running.stopAndVerify({ failures: true });
        assert.deepEqual(running.errors(), [], 'no application-visible error');
        await assert.rejects(rt.update(name, { driver }), (err: Error & { code?: string }) =>
          err.code === 'SD_ERR_BUSY' && /rolled back before/.test(err.message), 'not tried again until asked');
        assert.equal(rt.status(name)!.lastUpdate?.outcome, 'rolled-back');
        console.log(`${c.subject.what}, ${k.breakage}: ${report.failedIn}: ${report.cause}; ${done}`);
      } finally {
        await rt.close();
        await running.cleanup();
      }
      await expectNoLeaks(before);
    });
  }
}

test('a version that rolled back is tried again with force: true, and a good version after it switches', async () => {
  const before = snapshot();
  const rt = createRuntime();
  try {
    const disk = await rt.attachBlock({ name: 'disk0', driver: 'ram', domain: 'worker', config: { sizeBytes: 16 * BLOCK } });
    await disk.open();
    const broken = `${fixture('ram-broken')}?init-throws`;
    const first = await rt.update('disk0', { driver: broken });
    assert.equal(first.outcome, 'rolled-back');
    const again = await rt.update('disk0', { driver: broken, force: true });
    assert.equal(again.outcome, 'rolled-back', 'forced: tried again (and rolled back again)');
    const good = await rt.update('disk0', { driver: fixture('ram-v2'), probation: { requests: 1, ms: 50 } });
    assert.equal(good.outcome, 'switched', good.cause);
    assert.equal(rt.status('disk0')!.version, fixture('ram-v2'), 'a version without a manifest is named by its URL');
  } finally {
    await rt.close();
  }
  await expectNoLeaks(before);
});
