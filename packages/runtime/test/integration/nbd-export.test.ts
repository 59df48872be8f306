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
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, type BlockDevice } from '../../src/index.js';
import { NbdServer, startNbdServer } from '../../src/nbd/server.js';
import { Command, Errno, IHAVEOPT, Option, REQUEST_MAGIC, Reply, TransmissionFlag } from '../../src/nbd/protocol.js';
import { SocketReader } from '../../src/nbd/socket-reader.js';
import { requires } from '../../src/testing/index.js';
import { waitForEvent } from '../../src/testing/events.js';
import { faultLoop } from '../../src/testing/fault-loop.js';
import { expectNoLeaks, snapshot } from '../../src/testing/leaks.js';

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


test('real NBD clients pass against the export while its driver fails', { skip: requires('nbdinfo', 'nbdcopy', 'qemu-img', 'qemu-io') }, async () => {
  const before = snapshot();
  const dir = mkdtempSync(join(tmpdir(), 'shadow-nbd-'));
  const rt = createRuntime({ faultInjection: true });
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
    const faults = faultLoop(rt, 'disk0', disk, ['exit', 'kill', 'throw', 'rejection', 'never-answer', 'contract', 'busy-loop', 'bad-kernel-call', 'abort']);
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
    const recoveries = rt.status('disk0')!.recoveries;
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

function withDeadline<T>(work: Promise<T>, what: string, deadlineMs = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${deadlineMs} ms`)), deadlineMs); });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** A hand-written NBD client speaking raw bytes, to send what real clients never would. */
class RawClient {
  readonly socket: net.Socket;
  readonly reader: SocketReader;
  readonly closed: Promise<void>;
  #handle = 0n;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.reader = new SocketReader(socket);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number, greet = true): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    const c = new RawClient(socket);
    await withDeadline(new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject)), 'connect');
    if (greet) {
      const greeting = await c.reader.read(18);
      assert.equal(greeting.toString('latin1', 0, 8), 'NBDMAGIC');
      assert.equal(greeting.readBigUInt64BE(8), IHAVEOPT);
    }
    return c;
  }

  option(option: number, data: Buffer = Buffer.alloc(0), magic = IHAVEOPT, length = data.length): void {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(magic, 0);
    h.writeUInt32BE(option, 8);
    h.writeUInt32BE(length, 12);
    this.socket.write(Buffer.concat([h, data]));
  }

  async optionReply(): Promise<{ type: number; data: Buffer }> {
    const h = await this.reader.read(20);
    const length = h.readUInt32BE(16);
    return { type: h.readUInt32BE(12), data: length ? await this.reader.read(length) : Buffer.alloc(0) };
  }

  /** Client flags, then NBD_OPT_GO; returns the export's size and transmission flags. */
  async go(name: string): Promise<{ size: number; flags: number }> {
    this.socket.write(Buffer.from([0, 0, 0, 3]));
    const n = Buffer.from(name);
    const data = Buffer.alloc(6 + n.length);
    data.writeUInt32BE(n.length, 0);
    n.copy(data, 4);
    this.option(Option.GO, data);
    let size = -1;
    let flags = -1;
    for (;;) {
      const r = await this.optionReply();
      if (r.type === Reply.ACK) return { size, flags };
      assert.equal(r.type, Reply.INFO, `NBD_OPT_GO answered ${r.type.toString(16)}: ${r.data.toString()}`);
      if (r.data.readUInt16BE(0) === 0) {
        size = Number(r.data.readBigUInt64BE(2));
        flags = r.data.readUInt16BE(10);
      }
    }
  }

  /** Sends one request; returns its handle. */
  request(type: number, offset: number, length: number, data?: Uint8Array, magic = REQUEST_MAGIC): bigint {
    const handle = ++this.#handle;
    const h = Buffer.alloc(28);
    h.writeUInt32BE(magic, 0);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(handle, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    this.socket.write(data ? Buffer.concat([h, data]) : h);
    return handle;
  }

  /** Reads `count` simple replies in whatever order they come; `reads` gives each read's length. */
  async replies(count: number, reads = new Map<bigint, number>()): Promise<Map<bigint, { error: number; data?: Buffer }>> {
    const out = new Map<bigint, { error: number; data?: Buffer }>();
    while (out.size < count) {
      const h = await withDeadline(this.reader.read(16), 'reply');
      assert.equal(h.readUInt32BE(0), 0x67446698);
      const handle = h.readBigUInt64BE(8);
      const error = h.readUInt32BE(4);
      const length = reads.get(handle);
      out.set(handle, error === 0 && length ? { error, data: await this.reader.read(length) } : { error });
    }
    return out;
  }
}

test('the export under pipelined unaligned writes, error replies and malformed clients', { skip: requires('nbdinfo') }, async () => {
  const before = snapshot();
  const rt = createRuntime({ faultInjection: true });
  let server: NbdServer | undefined;
  const clients: RawClient[] = [];
  try {
    const size = 4 * MiB;
    const disk = await rt.attachBlock({ name: 'disk0', driver: 'ram', domain: 'worker', config: { sizeBytes: size } });
    const fragile = await rt.attachBlock({ name: 'fragile', driver: 'ram', domain: 'worker', config: { sizeBytes: size },
      restart: { intensity: 0 } });
    await disk.open();
    await fragile.open();
    const model = pattern(3, size);
    await writeAll(disk, model);
    server = new NbdServer({ exports: { '': disk, alias: disk, ro: { device: disk, readOnly: true }, fragile }, handshakeTimeoutMs: 300 });
    const address = await server.listen();
    const { port } = address as { port: number };
    const connect = async (greet = true) => {
      const c = await RawClient.connect(port, greet);
      clients.push(c);
      return c;
    };

    // An option we do not implement is refused, and the handshake carries on.
    const a = await connect();
    a.socket.write(Buffer.from([0, 0, 0, 3]));
    a.option(Option.STRUCTURED_REPLY);
    assert.equal((await a.optionReply()).type, Reply.ERR_UNSUP);
    a.option(Option.LIST);
    const listed: string[] = [];
    for (let r = await a.optionReply(); r.type === Reply.SERVER; r = await a.optionReply()) listed.push(r.data.toString('utf8', 4));
    assert.deepEqual(listed.sort(), ['', 'alias', 'fragile', 'ro']);
    a.option(Option.GO, Buffer.from([0, 0, 0, 0, 0, 0]));
    const opened = await a.optionReply();
    assert.equal(opened.type, Reply.INFO);
    assert.equal(opened.data.readUInt16BE(10) & TransmissionFlag.READ_ONLY, 0);
    while ((await a.optionReply()).type !== Reply.ACK);

    // 300 unaligned writes in flight at once, disjoint but sharing blocks: a read-modify-write
    // that is not serialised per block would write back a neighbour's old bytes.
    const handles: bigint[] = [];
    for (let i = 0; i < 300; i++) {
      const offset = 1000 + i * 333;
      const data = new Uint8Array(333).fill((i % 250) + 1);
      model.set(data, offset);
      handles.push(a.request(Command.WRITE, offset, data.length, data));
    }
    handles.push(a.request(Command.WRITE_ZEROES, 4096 * 30 + 7, 4096 * 3));
    model.fill(0, 4096 * 30 + 7, 4096 * 33 + 7);
    const written = await a.replies(handles.length);
    assert.deepEqual([...written.values()].filter((r) => r.error !== 0), []);
    // The same device under another name: writes from both connections sharing blocks are
    // ordered by the same range locks, whatever name each client chose.
    const b = await connect();
    await b.go('alias');
    const fromA: bigint[] = [];
    const fromB: bigint[] = [];
    for (let i = 0; i < 200; i++) {
      const offset = 500_000 + i * 300;
      const data = new Uint8Array(150).fill((i % 200) + 3);
      const other = new Uint8Array(150).fill((i % 200) + 40);
      model.set(data, offset);
      model.set(other, offset + 150);
      fromA.push(a.request(Command.WRITE, offset, data.length, data));
      fromB.push(b.request(Command.WRITE, offset + 150, other.length, other));
    }
    const [doneA, doneB] = await Promise.all([a.replies(fromA.length), b.replies(fromB.length)]);
    assert.deepEqual([...doneA.values(), ...doneB.values()].filter((r) => r.error !== 0), []);
    assert.equal(sha256(await readAll(disk, size)), sha256(model), 'a write through one name undid one through the other');
    const reads = new Map<bigint, number>();
    reads.set(a.request(Command.READ, 17, 200_000), 200_000);
    const outOfRange = a.request(Command.READ, size - 100, 200);
    const replies = await a.replies(2, reads);
    assert.ok(Buffer.from(model.subarray(17, 200_017)).equals(replies.get([...reads.keys()][0]!)!.data!), 'NBD read differs');
    assert.equal(replies.get(outOfRange)!.error, Errno.EINVAL);
    assert.equal(sha256(await readAll(disk, size)), sha256(model), 'the device differs from the model');
    // 160 MiB of read replies asked for before any is read: the server stops reading requests
    // while its write queue is full, and every reply still arrives whole.
    a.socket.pause();
    const bulk = new Map<bigint, number>();
    for (let i = 0; i < 40; i++) bulk.set(a.request(Command.READ, 0, size), size);
    a.socket.resume();
    const bulkReplies = await a.replies(bulk.size, bulk);
    assert.ok([...bulkReplies.values()].every((r) => r.error === 0 && sha256(r.data!) === sha256(model)), 'a bulk read differs');
    a.request(Command.DISC, 0, 0);
    await withDeadline(a.closed, 'close after NBD_CMD_DISC');

    // A read-only export refuses writes; a device that gave up answers EIO.
    const ro = await connect();
    assert.ok((await ro.go('ro')).flags & TransmissionFlag.READ_ONLY);
    const refused = ro.request(Command.WRITE, 0, 4, new Uint8Array(4));
    assert.equal((await ro.replies(1)).get(refused)!.error, Errno.EPERM);
    const gone = await connect();
    assert.equal((await gone.go('fragile')).size, size);
    const gaveUp = waitForEvent(rt.manager, 'gave-up', (e: { device: string }) => e.device === 'fragile');
    rt.inject('fragile', { kind: 'exit' });
    await gaveUp;
    const failed = gone.request(Command.READ, 0, 4096);
    assert.equal((await gone.replies(1)).get(failed)!.error, Errno.EIO);

    // Malformed input closes that connection and nothing else.
    const badFlags = await connect();
    badFlags.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const badOptionMagic = await connect();
    badOptionMagic.socket.write(Buffer.from([0, 0, 0, 3]));
    badOptionMagic.option(Option.GO, Buffer.alloc(6), 0x1234n);
    const hugeOption = await connect();
    hugeOption.socket.write(Buffer.from([0, 0, 0, 3]));
    hugeOption.option(Option.GO, Buffer.alloc(0), IHAVEOPT, 0x40000000);
    const badRequest = await connect();
    await badRequest.go('');
    badRequest.request(Command.READ, 0, 4096, undefined, 0xdeadbeef);
    const hugeWrite = await connect();
    await hugeWrite.go('');
    hugeWrite.request(Command.WRITE, 0, 0x7fffffff);
    const silent = await connect(false);
    for (const c of [badFlags, badOptionMagic, hugeOption, badRequest, hugeWrite, silent]) await withDeadline(c.closed, 'close');
    assert.equal(server.stats.protocolErrors, 5);

    // The server still serves, and close() ends a connection that is still open.
    const info = await client('nbdinfo', ['--size', `nbd://127.0.0.1:${port}`]);
    assert.equal(Number(info.stdout.trim()), size);
    const idle = await connect();
    await idle.go('');
    await server.close();
    await withDeadline(idle.closed, 'close on server.close()');
    assert.equal(server.stats.open, 0);
  } finally {
    for (const c of clients) c.socket.destroy();
    await server?.close();
    await rt.close();
  }
  await expectNoLeaks(before);
});
