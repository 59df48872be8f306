/**
 * Live update for every class on its zero-setup hardware beside `ram` (update.test.ts): a disk
 * image (`file`), a virtual NIC, a virtual sound card, in worker and process domains. Under a
 * running, verified workload, v1 → v2 → v1 … with no application-visible error, the data as
 * written (the data set; frames in sequence; the stream's numbered frames), the device object
 * the same. The TAP NIC's test is the lab's (it needs network namespaces).
 */
import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';
import { createRuntime } from '../../src/index.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { fileDisk, registerSecondVersion, virtualNic, virtualSound, type Domain, type Subject } from '../helpers/update-subjects.js';

/** 100 updates per class and domain (Done means 1 of the live-update issue); SHADOW_UPDATES lowers it. */
const UPDATES = Number(process.env.SHADOW_UPDATES ?? 100);

async function updates(t: TestContext, subject: Subject, domain: Domain): Promise<void> {
  const before = snapshot();
  const rt = createRuntime();
  const name = `${subject.className}0`;
  const v2 = registerSecondVersion(rt, subject.className, subject.v1);
  const running = await subject.start(rt, name, domain);
  try {
    const device = rt.kernel.device(name);
    for (let i = 0; i < UPDATES; i++) {
      const to = i % 2 === 0 ? v2 : subject.v1;
      const progress = running.progress();
      const report = await rt.update(name, { driver: to, probation: { requests: 4, ms: 5000 } });
      assert.equal(report.outcome, 'switched', `update ${i + 1} to ${to}: ${report.failedIn}: ${report.cause}`);
      assert.equal(rt.status(name)!.version, to);
      assert.deepEqual(running.errors(), [], `update ${i + 1}: no application-visible error`);
      assert.ok(running.progress() > progress, `update ${i + 1}: the application kept going through it`);
    }
    assert.equal(rt.status(name)!.recoveries, 0, 'no update turned into a recovery');
    const done = await running.stopAndVerify();
    assert.deepEqual(running.errors(), [], 'no application-visible error');
    assert.equal(rt.kernel.device(name), device, 'the device object is the same');
    const face = subject.className === 'block' ? rt.block(device!) : subject.className === 'net' ? rt.net(device!) : rt.sound(device!);
    assert.equal(face, running.face, 'so is its application face');
    t.diagnostic(`${subject.what}, ${domain}: ${UPDATES} updates; ${done}`);
  } finally {
    await rt.close();
    await running.cleanup();
  }
  await expectNoLeaks(before);
}

for (const subject of [fileDisk, virtualNic, virtualSound]) {
  for (const domain of ['worker', 'process'] as const) {
    test(`${subject.what} in a ${domain} domain: ${UPDATES} live updates v1 → v2 → v1 … under a verified workload`, (t) =>
      updates(t, subject, domain));
  }
}
