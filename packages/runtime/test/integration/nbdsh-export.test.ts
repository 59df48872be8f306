/**
 * nbdsh (libnbd's Python shell) against the kernel's NBD export while faults of every kind hit
 * the exported device's driver. The script below is a real client program: it keeps its own
 * model of the disk and, through libnbd, reads, writes at unaligned offsets, writes zeroes,
 * trims, flushes, and pipelines reads and writes with the asynchronous calls, checking every
 * byte it reads against the model. It ends by writing the model out; the test then reads the
 * whole device through the shadowed BlockDevice and must find exactly those bytes.
 * Skips loudly only when nbdsh is not installed.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, type BlockDevice, type FaultKind } from '../../src/index.js';
import { startNbdServer, type NbdServer } from '../../src/nbd/server.js';
import { findProgram, requires } from '../../src/testing/index.js';
import { faultLoop } from '../../src/testing/fault-loop.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

const MiB = 1024 * 1024;
const SIZE = 16 * MiB;
const KINDS: FaultKind[] = ['exit', 'kill', 'throw', 'rejection', 'contract', 'bad-kernel-call', 'abort', 'busy-loop', 'never-answer'];
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

const nbdsh = findProgram('nbdsh');
const missing = requires('nbdsh');
if (missing) console.error(`\n*** SKIPPING the nbdsh test: ${missing} (libnbd's Python shell) ***\n`);

/**
 * The client program, run by `nbdsh -u URI -c -` (libnbd's handle is `h`). Its arguments come
 * in through the environment: where to write the model, how many operations, the seed.
 */
const script = String.raw`
import json, os, random
import nbd

size = h.get_size()
ops = int(os.environ['NBDSH_OPS'])
rng = random.Random(int(os.environ['NBDSH_SEED']))
assert h.can_flush() and h.can_trim() and h.can_zero(), 'the export does not offer flush, trim and zero'
CHUNK = 1 << 20

model = bytearray()
for at in range(0, size, CHUNK):
    model += h.pread(min(CHUNK, size - at), at)
known = bytearray(b'\x01') * size   # 0 where a trim left the contents unspecified
counts = {'pread': 0, 'pwrite': 0, 'zero': 0, 'trim': 0, 'flush': 0, 'aio': 0}

def check(at, data):
    expected = model[at:at + len(data)]
    mask = known[at:at + len(data)]
    if 0 in mask:
        bad = [i for i in range(len(data)) if mask[i] and data[i] != expected[i]]
    else:
        bad = [] if data == expected else [i for i in range(len(data)) if data[i] != expected[i]]
    assert not bad, 'read %d bytes at %d: %d differ, first at %d' % (len(data), at, len(bad), at + bad[0])

def span(largest):
    length = rng.randint(1, largest)
    return rng.randrange(0, size - length), length

for i in range(ops):
    op = rng.choice(['pread', 'pread', 'pwrite', 'pwrite', 'zero', 'trim', 'flush', 'aio'])
    counts[op] += 1
    if op == 'pread':
        at, length = span(256 * 1024)
        check(at, h.pread(length, at))
    elif op == 'pwrite':
        at, length = span(256 * 1024)
        data = rng.randbytes(length)
        h.pwrite(data, at)
        model[at:at + length] = data
        known[at:at + length] = b'\x01' * length
    elif op == 'zero':
        at, length = span(512 * 1024)
        h.zero(length, at)
        model[at:at + length] = bytes(length)
        known[at:at + length] = b'\x01' * length
    elif op == 'trim':
        at, length = span(512 * 1024)
        h.trim(length, at)
        known[at:at + length] = bytes(length)
    elif op == 'flush':
        h.flush()
    else:
        # Pipelined: 8 writes to 64 KiB slots and 8 reads of 8 other slots, all in flight at once.
        slots = rng.sample(range(size // 65536), 16)
        writes = []
        for slot in slots[:8]:
            at = slot * 65536 + rng.randrange(0, 4096)
            data = bytearray(rng.randbytes(rng.randint(1, 65536 - 4096)))
            h.aio_pwrite(nbd.Buffer.from_bytearray(data), at)
            writes.append((at, data))
        reads = []
        for slot in slots[8:]:
            buf = nbd.Buffer(65536)
            reads.append((slot * 65536, buf, h.aio_pread(buf, slot * 65536)))
        while h.aio_in_flight() > 0:
            h.poll(-1)
        for at, data in writes:
            model[at:at + len(data)] = data
            known[at:at + len(data)] = b'\x01' * len(data)
        for at, buf, cookie in reads:
            assert h.aio_command_completed(cookie)
            check(at, buf.to_bytearray())

# What the trims left unspecified is zeroed, so the whole disk is known; then read it all back.
at = known.find(b'\x00')
while at != -1:
    end = known.find(b'\x01', at)
    end = size if end == -1 else end
    h.zero(end - at, at)
    model[at:end] = bytes(end - at)
    known[at:end] = b'\x01' * (end - at)
    at = known.find(b'\x00', end)
h.flush()
for at in range(0, size, CHUNK):
    check(at, h.pread(min(CHUNK, size - at), at))
with open(os.environ['NBDSH_MODEL'], 'wb') as f:
    f.write(model)
print(json.dumps(counts))
`;

interface Run { ms: number; stdout: string }

/**
 * Runs the script through nbdsh. nbdsh is a shell script that runs the first python3 on PATH,
 * which must be the one its libnbd module was installed for: nbdsh's own directory goes first.
 */
function runNbdsh(uri: string, env: Record<string, string>, timeoutMs: number): Promise<Run> {
  const started = Date.now();
  const PATH = [dirname(nbdsh!), process.env.PATH ?? ''].join(delimiter);
  return new Promise((resolve, reject) => {
    const child = execFile(nbdsh!, ['-u', uri, '-c', '-'], { env: { ...process.env, ...env, PATH }, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`nbdsh failed (${error.message}): ${stderr}`));
        else resolve({ ms: Date.now() - started, stdout });
      });
    child.stdin!.end(script);
  });
}

async function readAll(disk: BlockDevice, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 4 * MiB) await disk.read(at, Math.min(4 * MiB, size - at), out.subarray(at));
  return out;
}

for (const domain of ['worker', 'process'] as const) {
  test(`nbdsh reads, writes, zeroes, trims, flushes and pipelines through the export while its ${domain} driver fails`, { skip: missing }, async () => {
    const before = snapshot();
    const dir = mkdtempSync(join(tmpdir(), 'shadow-nbdsh-'));
    const rt = createRuntime({ faultInjection: true });
    const name = `nbdsh-${domain}`;
    let server: NbdServer | undefined;
    try {
      const disk = await rt.attachBlock({
        name, driver: 'ram', domain, config: { sizeBytes: SIZE }, warmStandby: true,
        heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, restart: { intensity: 10_000 },
      });
      await disk.open();
      const initial = new Uint8Array(SIZE).map((_, i) => (i * 7 + (i >>> 12)) & 0xff);
      for (let at = 0; at < SIZE; at += 4 * MiB) await disk.write(at, initial.subarray(at, at + 4 * MiB));
      const socket = join(dir, 'nbd.sock');
      server = (await startNbdServer({ exports: { '': disk }, listen: [{ path: socket }] })).server;

      const model = join(dir, 'model.img');
      const faults = faultLoop(rt, name, disk, KINDS, 150);
      let run: Run;
      try {
        run = await runNbdsh(`nbd+unix:///?socket=${socket}`, { NBDSH_OPS: '600', NBDSH_SEED: domain === 'worker' ? '1' : '2', NBDSH_MODEL: model }, 180_000);
      } finally {
        await faults.stop();
      }
      const counts = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, number>;
      for (const op of ['pread', 'pwrite', 'zero', 'trim', 'flush', 'aio']) assert.ok(counts[op]! > 0, `nbdsh never ran ${op}`);
      assert.equal(sha256(await readAll(disk, SIZE)), sha256(readFileSync(model)), 'the device holds other bytes than nbdsh wrote');
      const recoveries = rt.status(name)!.recoveries;
      console.log(`# nbdsh (${domain}): ${run.ms} ms, operations ${JSON.stringify(counts)}; faults injected: ${faults.injected.join(', ')}; recoveries ${recoveries}`);
      assert.ok(recoveries >= 3, `only ${recoveries} recoveries happened while nbdsh ran`);
      assert.equal(server.stats.errorReplies, 0, 'nbdsh was sent an error');
      assert.equal(server.stats.protocolErrors, 0);
    } finally {
      await server?.close();
      await rt.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await expectNoLeaks(before);
  });
}
