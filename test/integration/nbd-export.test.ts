/**
 * The kernel's NBD server, driven by real NBD clients (nbdinfo, nbdcopy, qemu-img, qemu-io)
 * as child processes, while faults of several kinds are injected into the exported device's
 * driver: every client must exit 0 and every byte must match. Then a hand-written client
 * checks what the real ones cannot provoke: pipelined unaligned writes sharing blocks,
 * error replies, and malformed input that must close one connection and nothing else.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as pace } from 'node:timers/promises';
import { test } from 'node:test';
import { createRuntime, type BlockDevice, type FaultKind, type RecoveryEvent } from '../../src/index.js';
import { NbdServer, startNbdServer } from '../../src/nbd/server.js';
import { waitForEvent } from '../helpers/events.js';
import { expectNoLeaks, snapshot } from '../helpers/leaks.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A reproducible pseudo-random image (xorshift32), different for each seed. */
function pattern(seed: number, size: number): Uint8Array {
  const words = new Uint32Array(size / 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer);
}

async function readAll(disk: BlockDevice, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 4 * MiB) await disk.read(at, Math.min(4 * MiB, size - at), out.subarray(at));
  return out;
}

async function writeAll(disk: BlockDevice, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length; at += 4 * MiB) await disk.write(at, data.subarray(at, at + 4 * MiB));
}

interface Run { command: string; ms: number; stdout: string }

/** Runs a real client; rejects (with its stderr) on a non-zero exit or after its deadline. */
function client(command: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const line = `${command} ${args.join(' ')}`;
      if (error) reject(new Error(`${line} failed (${error.message}): ${stderr}`));
      else resolve({ command: line, ms: Date.now() - started, stdout });
    });
  });
}

/**
 * Injects faults one after another until stopped: the next only once the previous recovery
 * is over. The pause between them sets the fault rate (it synchronises nothing). A read after
 * each injection gives faults that act on the next call a call to act on.
 */
function faultLoop(rt: ReturnType<typeof createRuntime>, disk: BlockDevice, kinds: FaultKind[]) {
  const stop = new AbortController();
  const injected: FaultKind[] = [];
  const done = (async () => {
    for (let i = 0; !stop.signal.aborted; i++) {
      try {
        await pace(100 + (i * 37) % 100, undefined, { signal: stop.signal });
      } catch {
        break;
      }
      const kind = kinds[i % kinds.length]!;
      const recovered = waitForEvent<RecoveryEvent>(rt.manager, 'recovery', (e) => e.device === 'disk0', 20_000);
      rt.inject('disk0', { kind });
      injected.push(kind);
      await Promise.all([recovered, disk.read(0, 4096)]);
    }
  })();
  return { injected, stop: async () => { stop.abort(); await done; } };
}

test('real NBD clients pass against the export while its driver fails', async () => {
  const before = snapshot();
  const dir = mkdtempSync(join(tmpdir(), 'shadow-nbd-'));
  const rt = createRuntime();
  let server: NbdServer | undefined;
  try {
    const disk = await rt.attachBlock({
      name: 'disk0', driver: 'ram', domain: 'worker', config: { sizeBytes: SIZE }, warmStandby: true,
      heartbeatMs: 50, heartbeatTimeoutMs: 1000,
      // Faults come every ~150 ms here, far above any real failure rate: no budget to give up on.
      restart: { intensity: 10_000 },
    });
    await disk.open();
    const first = pattern(1, SIZE);
    await writeAll(disk, first);
    const socketPath = join(dir, 'nbd.sock');
    const started = await startNbdServer({ exports: { '': disk }, listen: [{ port: 0 }, { path: socketPath }] });
    server = started.server;
    const { port } = started.addresses[0] as { port: number };
    const uri = `nbd://127.0.0.1:${port}`;
    const unixUri = `nbd+unix:///?socket=${socketPath}`;

    const second = pattern(2, SIZE);
    const faults = faultLoop(rt, disk, ['exit', 'kill', 'throw', 'rejection', 'never-answer', 'contract', 'busy-loop', 'bad-kernel-call', 'abort']);
    const runs: Run[] = [];
    try {
      const info = await client('nbdinfo', ['--json', uri]);
      runs.push(info);
      const exported = (JSON.parse(info.stdout) as { exports: { 'export-size': number; 'block_size_minimum': number }[] }).exports[0]!;
      assert.equal(exported['export-size'], SIZE);
      assert.equal(exported.block_size_minimum, 1);

      // Export to a file: every byte the device holds.
      runs.push(await client('nbdcopy', [`${uri}/`, join(dir, 'out.img')]));
      assert.equal(sha256(readFileSync(join(dir, 'out.img'))), sha256(first), 'nbdcopy read other bytes than the device holds');

      // Import a new image through the export, then check it through the device itself.
      writeFileSync(join(dir, 'in.img'), second);
      runs.push(await client('nbdcopy', [join(dir, 'in.img'), `${uri}/`]));
      assert.equal(sha256(await readAll(disk, SIZE)), sha256(second), 'the device holds other bytes than nbdcopy wrote');

      runs.push(await client('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', join(dir, 'in.img'), uri]));
      runs.push(await client('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', unixUri, join(dir, 'convert.img')]));
      assert.equal(sha256(readFileSync(join(dir, 'convert.img'))), sha256(second), 'qemu-img convert read other bytes');

      // Unaligned writes from qemu-io: the server patches partial blocks (read-modify-write).
      runs.push(await client('qemu-io', ['-f', 'raw', '-c', 'write -P 0xa5 1000 10000', '-c', 'write -z 20000 5000',
        '-c', `write -P 0x5a ${SIZE - 333} 333`, unixUri]));
      second.fill(0xa5, 1000, 11000);
      second.fill(0, 20000, 25000);
      second.fill(0x5a, SIZE - 333, SIZE);
      writeFileSync(join(dir, 'in.img'), second);
      runs.push(await client('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', join(dir, 'in.img'), uri]));
    } finally {
      await faults.stop();
    }
    assert.equal(sha256(await readAll(disk, SIZE)), sha256(second), 'final device contents');
    const recoveries = rt.manager.driver('disk0')!.recoveries;
    for (const r of runs) console.log(`# ${r.ms} ms  ${r.command}`);
    console.log(`# faults injected: ${faults.injected.join(', ')}; recoveries ${recoveries}`);
    assert.ok(recoveries >= 3, `only ${recoveries} recoveries happened while the clients ran`);
    assert.equal(server.stats.errorReplies, 0, 'a client was sent an error');
    assert.equal(server.stats.protocolErrors, 0);
  } finally {
    await server?.close();
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await expectNoLeaks(before);
});
