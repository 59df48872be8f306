/**
 * The nbd driver against a real NBD server (nbdkit): the connection is driver state the
 * shadow must bring back after every fault kind; device errors (nbdkit's error filter) reach
 * the application as SD_ERR_IO for those requests only; a server killed and restarted on the
 * same socket is a device outage the driver waits out, with no error and no data lost.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createRuntime, ErrorCodes, type DriverSpec, type FaultKind, type RecoveryEvent, type Runtime } from 'shadow-drivers';
import { faultKinds } from 'shadow-drivers';
import { until, waitForEvent } from 'shadow-drivers/testing';
import { nbdkit as nbdkitIn, NbdServer, ONE_THREAD } from '../../src/harness/nbdkit.js';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';
import { BLOCK, BlockWorkload } from 'shadow-drivers/testing';

/** The built-in driver by its manifest's name: its sandbox gets the network and the server's socket folder. */
const driver = 'nbd';
const work = mkdtempSync(join(tmpdir(), 'shadow-nbd-'));
after(() => rmSync(work, { recursive: true, force: true }));

const nbdkit = (name: string, args: string[]) => nbdkitIn(work, name, args);

async function withServer(server: NbdServer, body: (server: NbdServer, rt: Runtime) => Promise<void>): Promise<void> {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  try {
    await server.start();
    await body(server, rt);
  } finally {
    await rt.close();
    await server.stop();
  }
  await expectNoLeaks(before);
}

function spec(name: string, domain: 'worker' | 'process', config: Record<string, unknown>, extra: Partial<DriverSpec> = {}) {
  return { name, driver, domain, config, heartbeatMs: 50, heartbeatTimeoutMs: 1000, memoryLimitMb: 32, ...extra };
}

const expectedCause: Record<FaultKind, RecoveryEvent['cause'][]> = {
  exit: ['exit'], abort: ['exit'], kill: ['exit'], throw: ['exception'], rejection: ['rejection'],
  // A heap being filled stops answering heartbeats and calls: whichever detector fires first.
  'busy-loop': ['no-heartbeat', 'hang'], 'never-answer': ['hang'], memory: ['memory', 'no-heartbeat', 'hang'],
  'bad-kernel-call': ['bad-kernel-call'], contract: ['contract'], segfault: ['exit'],
};

for (const domain of ['worker', 'process'] as const) {
  test(`${domain}: every fault kind in the nbd driver is recovered with the connection, no error, data intact`, { skip: requires('nbdkit') }, async (t) => {
    // One thread per connection: with several, nbdkit 1.32 can abort when a killed driver's
    // connection vanishes with requests in flight, and then no recovery can reconnect.
    await withServer(nbdkit(`faults-${domain}`, [ONE_THREAD, 'memory', '64M']), async (server, rt) => {
      const name = `nbd-${domain}`;
      const disk = await rt.attachBlock(spec(name, domain, { url: `nbd+unix:///?socket=${server.socket}` },
        { deadlineScale: 0.3, restart: { baseDelayMs: 1, maxDelayMs: 5 } }));
      await disk.open();
      await disk.configure('writeCache', 'writethrough');
      const app = new BlockWorkload(disk, 256);
      await app.fill();
      for (const kind of faultKinds) {
        const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === name, 20_000);
        let done = false;
        const running = app.run(8, () => done);
        rt.inject(name, { kind });
        const event = await recovered.finally(() => { done = true; });
        await running;
        assert.ok(expectedCause[kind].includes(event.cause), `${kind}: recovered from ${event.cause}`);
        t.diagnostic(`${kind}: ${event.cause}, recovered in ${event.totalMs.toFixed(1)} ms, ${event.resubmitted} resubmitted`);
        const completed = app.completed;
        await app.run(8, () => app.completed >= completed + 100);
        assert.deepEqual(app.errors, [], `${kind}: application-visible errors`);
      }
      await app.verifyAll();
      assert.deepEqual(app.errors, [], 'application-visible errors');
      assert.equal(app.mismatches, 0, 'data differs from the model');
      assert.equal(rt.status(name)!.recoveries, faultKinds.length);
    });
  });
}

test('qemu-nbd: the driver serves it and recovers its connection after a kill', { skip: requires('qemu-nbd') }, async () => {
  const image = join(work, 'qemu.img');
  writeFileSync(image, '');
  truncateSync(image, 16 * 1024 * 1024);
  // -t: keep serving after a client leaves; -e 2: the dying driver's connection and the new one.
  await withServer(new NbdServer(work, 'qemu', 'qemu-nbd', (socket) => [`--socket=${socket}`, '-f', 'raw', '-t', '-e', '2', image]),
    async (server, rt) => {
      const disk = await rt.attachBlock(spec('nbd-qemu', 'process', { url: `nbd+unix:///?socket=${server.socket}` }));
      await disk.open();
      const app = new BlockWorkload(disk, 128);
      await app.fill();
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'nbd-qemu', 20_000);
      let done = false;
      const running = app.run(8, () => done);
      rt.inject('nbd-qemu', { kind: 'kill' });
      await recovered.finally(() => { done = true; });
      await running;
      // Block 200 is outside the workload's blocks: written, discarded, read back as zeroes.
      await disk.write(200 * BLOCK, new Uint8Array(BLOCK).fill(0x5a));
      await disk.discard(200 * BLOCK, BLOCK);
      assert.deepEqual(await disk.read(200 * BLOCK, BLOCK), new Uint8Array(BLOCK), 'a discarded block reads back as zeroes');
      await app.run(8, () => app.completed >= 300);
      await app.verifyAll();
      assert.equal(app.mismatches, 0, 'data differs from the model');
      assert.deepEqual(app.errors, []);
      assert.equal(rt.status('nbd-qemu')!.recoveries, 1);
    });
});

describe('device errors from the NBD server', () => {
  for (const domain of ['worker', 'process'] as const) {
    test(`${domain}: EIO from nbdkit's error filter is SD_ERR_IO for those requests, not a driver failure`, { skip: requires('nbdkit') }, async () => {
      const inject = join(work, `inject-${domain}`);
      await withServer(nbdkit(`errors-${domain}`, ['--filter=error', 'memory', '64M', 'error-rate=100%', `error-file=${inject}`]),
        async (server, rt) => {
          const name = `nbd-errors-${domain}`;
          const failures: unknown[] = [];
          rt.manager.on('failure', (e: { device: string }) => { if (e.device === name) failures.push(e); });
          const disk = await rt.attachBlock(spec(name, domain, { socket: server.socket }));
          await disk.open();
          const app = new BlockWorkload(disk, 64);
          await app.fill();
          writeFileSync(inject, ''); // from now on every read, write and zero fails on the server
          const calls = [
            ...Array.from({ length: 8 }, (_, i) => disk.read(i * BLOCK, BLOCK)),
            ...Array.from({ length: 8 }, (_, i) => disk.write(i * BLOCK, new Uint8Array(BLOCK).fill(0xee))),
            disk.discard(0, BLOCK),
          ];
          const settled = await Promise.allSettled(calls);
          for (const result of settled) {
            assert.equal(result.status, 'rejected');
            assert.equal((result as PromiseRejectedResult).reason.code, ErrorCodes.IO);
          }
          await disk.flush(); // the error filter leaves flush alone: the device still serves it
          rmSync(inject);
          await app.run(8, () => app.completed >= 300);
          await app.verifyAll();
          assert.deepEqual(app.errors, []);
          assert.equal(app.mismatches, 0, 'a failed write changed the data');
          assert.deepEqual(failures, [], 'a device error was counted as a driver failure');
          assert.equal(rt.status(name)!.recoveries, 0);
        });
    });
  }

  test('a reply for a request never sent is a protocol breach: EIO for what was in flight, the driver keeps serving', async () => {
    const before = snapshot();
    const server = await breachingServer();
    const rt = createRuntime({ faultInjection: true });
    try {
      const address = server.address() as { port: number };
      const disk = await rt.attachBlock(spec('nbd-breach', 'worker', { host: '127.0.0.1', port: address.port }));
      await disk.open();
      await assert.rejects(disk.read(0, BLOCK), { code: ErrorCodes.IO }); // the server answers handle + 1000
      await assert.rejects(disk.read(0, BLOCK), { code: ErrorCodes.IO }); // a fresh connection, the same server
      assert.equal(rt.status('nbd-breach')!.recoveries, 0);
    } finally {
      await rt.close();
      await new Promise((resolve) => server.close(resolve));
    }
    await expectNoLeaks(before);
  });
});

describe('a device-side outage: nbdkit killed and restarted on the same socket', () => {
  for (const domain of ['worker', 'process'] as const) {
    test(`${domain}: requests wait for the server and then complete; data survives`, { skip: requires('nbdkit') }, async (t) => {
      const image = join(work, `outage-${domain}.img`);
      writeFileSync(image, '');
      truncateSync(image, 64 * 1024 * 1024);
      // The file plugin keeps the data across the restart (the memory plugin would lose it).
      await withServer(nbdkit(`outage-${domain}`, ['file', image]), async (server, rt) => {
        const name = `nbd-outage-${domain}`;
        // The outage window (8 s) is under the read/write deadline (2 s x 5): the driver waits
        // the outage out itself instead of the runtime taking the wait for a hang.
        const disk = await rt.attachBlock(spec(name, domain, { socket: server.socket, outageMs: 8000 }, { deadlineScale: 5 }));
        await disk.open();
        const app = new BlockWorkload(disk, 256);
        await app.fill();
        let done = false;
        let progress = { completed: 0, at: Date.now() };
        const running = app.run(8, () => done);
        await until(() => app.completed >= 200, 'the workload to run');
        await server.stop();
        // Requests keep arriving and must all wait: no progress for a full second.
        await until(() => {
          if (app.completed !== progress.completed) progress = { completed: app.completed, at: Date.now() };
          return Date.now() - progress.at >= 1000;
        }, 'the workload to stall on the outage', 10_000);
        assert.deepEqual(app.errors, [], 'a request failed during the outage');
        const stalledAt = app.completed;
        const restarted = Date.now();
        await server.start();
        await until(() => app.completed > stalledAt, 'the first request after the restart', 10_000);
        t.diagnostic(`first completion ${Date.now() - restarted} ms after nbdkit listened again`);
        await until(() => app.completed >= stalledAt + 300, 'the workload to go on', 20_000);
        done = true;
        await running;
        await app.verifyAll();
        assert.deepEqual(app.errors, [], 'application-visible errors');
        assert.equal(app.mismatches, 0, 'data differs from the model');
        assert.equal(rt.status(name)!.recoveries, 0, 'the outage was taken for a driver failure');
      });
    });
  }

  test('an outage longer than outageMs fails the waiting requests with SD_ERR_IO; the driver serves once the server is back', { skip: requires('nbdkit') }, async () => {
    await withServer(nbdkit('outage-long', ['memory', '64M']), async (server, rt) => {
      const disk = await rt.attachBlock(spec('nbd-outage-long', 'worker', { socket: server.socket, outageMs: 300 }));
      await disk.open();
      await disk.write(0, new Uint8Array(BLOCK).fill(1));
      await server.stop();
      const started = Date.now();
      await assert.rejects(disk.read(0, BLOCK), { code: ErrorCodes.IO });
      assert.ok(Date.now() - started >= 250, `failed after ${Date.now() - started} ms, before the outage window`);
      await server.start();
      await disk.write(0, new Uint8Array(BLOCK).fill(2));
      assert.deepEqual(await disk.read(0, BLOCK), new Uint8Array(BLOCK).fill(2));
      assert.equal(rt.status('nbd-outage-long')!.recoveries, 0);
    });
  });
});

/** A TCP NBD server that negotiates properly, then answers every request with a wrong handle. */
async function breachingServer(): Promise<Server> {
  const server = createServer((socket: Socket) => {
    socket.on('error', () => {});
    const hello = Buffer.alloc(18);
    hello.write('NBDMAGIC', 0, 'latin1');
    hello.write('IHAVEOPT', 8, 'latin1');
    hello.writeUInt16BE(3, 16);
    socket.write(hello);
    let input = Buffer.alloc(0);
    let phase: 'flags' | 'option' | 'transmission' = 'flags';
    socket.on('data', (chunk: Buffer) => {
      input = Buffer.concat([input, chunk]);
      if (phase === 'flags' && input.length >= 4) { input = input.subarray(4); phase = 'option'; }
      if (phase === 'option' && input.length >= 16 && input.length >= 16 + input.readUInt32BE(12)) {
        input = input.subarray(16 + input.readUInt32BE(12));
        const info = Buffer.alloc(12);
        info.writeBigUInt64BE(64n * 1024n * 1024n, 2);
        info.writeUInt16BE(1 | 4, 10); // HAS_FLAGS | SEND_FLUSH
        socket.write(Buffer.concat([optionReply(3, info), optionReply(1, Buffer.alloc(0))]));
        phase = 'transmission';
      }
      while (phase === 'transmission' && input.length >= 28) {
        const reply = Buffer.alloc(16);
        reply.writeUInt32BE(0x67446698, 0);
        reply.writeBigUInt64BE(input.readBigUInt64BE(8) + 1000n, 8);
        socket.write(reply);
        input = input.subarray(28 + (input.readUInt16BE(6) === 1 ? input.readUInt32BE(24) : 0));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function optionReply(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeBigUInt64BE(0x3e889045565a9n, 0);
  head.writeUInt32BE(7, 8);
  head.writeUInt32BE(type, 12);
  head.writeUInt32BE(data.length, 16);
  return Buffer.concat([head, data]);
}
