/**
 * Hostile drivers on the wire: each attack is a malformed message a driver sends straight onto
 * its domain's channel. The kernel must survive every one (this test process is the kernel),
 * report it as a failure of that driver, recover it, and a healthy device beside it must see
 * nothing: its data set is verified after each attack.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { createRuntime, type FailureEvent, type RecoveryEvent } from '../../src/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';
import { BlockWorkload } from '../../src/testing/workload.js';
import { attacks } from '../fixtures/drivers/hostile-wire.js';

const hostile = new URL('../fixtures/drivers/hostile-wire.js', import.meta.url).href;

for (const domain of ['worker', 'process'] as const) {
  describe(`malformed messages from a ${domain} driver`, () => {
    for (const attack of Object.keys(attacks)) {
      test(attack, async () => {
        const before = snapshot();
        const rt = createRuntime();
        try {
          const healthy = await rt.attachBlock({ name: 'healthy', driver: 'ram', domain, config: { sizeBytes: 1 << 20 } });
          await healthy.open();
          const workload = new BlockWorkload(healthy, 64);
          await workload.fill();
          const victim = await rt.attachBlock({ name: 'hostile', driver: hostile, domain, config: { attack, sizeBytes: 1 << 20 },
            resources: [{ name: 'medium', memoryBytes: 1 << 20 }] });
          await victim.open();
          await victim.write(0, new Uint8Array(4096).fill(1));
          // Deadlines bound a hang, they time nothing: a process driver's flood of a million
          // messages takes the loaded machine seconds to refuse and the domain to end.
          const failure = waitForEvent<FailureEvent>(rt.manager, 'failure', (e) => e.device === 'hostile', 60_000);
          const recovery = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'hostile', 60_000);
          // The attack write itself is resubmitted and attacks again until it is quarantined.
          const attackWrite = victim.write(4096, new Uint8Array(4096).fill(0xee)).then(() => 'done', (err: { code?: string }) => err.code);
          const seen = await failure;
          // A kernel too loaded to take 100,000 messages within the rate window sees the flood as the
          // attack write's missed deadline instead: its reply waits behind the flood.
          const kinds = attack === 'flood' ? ['contract', 'hang'] : ['contract', 'bad-kernel-call'];
          assert.ok(kinds.includes(seen.kind), `failure kind ${seen.kind}: ${seen.message}`);
          await recovery;
          const outcome = await attackWrite;
          assert.ok(outcome === 'done' || outcome === 'SD_ERR_POISON_REQUEST', `the attack write ended ${outcome}`);
          // The hostile device still serves, with what was written before the attack.
          assert.equal((await victim.read(0, 4096))[0], 1);
          // The healthy device beside it saw nothing.
          await workload.run(4, () => workload.completed >= 200);
          await workload.verifyAll();
          assert.deepEqual(workload.errors, []);
          assert.equal(workload.mismatches, 0);
          assert.equal(rt.status('healthy')!.recoveries, 0);
        } finally {
          await rt.close();
        }
        await expectNoLeaks(before);
      });
    }
  });
}
