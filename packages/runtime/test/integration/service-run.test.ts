/**
 * `shadowd run` as an operator runs it: a real child process with a real config, used only
 * from outside. A 1 GiB random image goes in through the NBD export of a 1 GiB `ram` disk
 * with nbdcopy and is checked with qemu-img compare and read back (sha256) while `shadowd
 * inject`, `shadowd restart` and an external kill -9 of the driver's process hit the driver
 * (the process domain's child); then `shadowd status --json`
 * and the metrics endpoint (curl) must tell exactly what happened, systemd's notify socket
 * must have heard READY=1, and SIGTERM under load must exit 0 leaving nothing behind.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { alive, childrenOf, ServiceProcess, shadowdOk, until } from '../helpers/service-process.js';

const MiB = 1024 * 1024;
/** The Done means' size: 1 GiB, written and hashed in chunks so the test never holds it in memory. */
const SIZE = 1024 * MiB;
const CHUNK = 64 * MiB;
const missing = ['nbdcopy', 'qemu-img', 'curl', 'python3'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);

function run(command: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * MiB }, (error, stdout, stderr) =>
    error ? reject(new Error(`${command} ${args.join(' ')}: ${error.message} ${stderr}`)) : resolve(stdout)));
}

/** The export read whole by nbdcopy to its stdout, hashed as it streams (no 1 GiB copy on disk); resolves with its sha256 and size. */
function readBack(url: string): Promise<{ sha: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('nbdcopy', [url, '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { hash.update(c); bytes += c.length; });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ sha: hash.digest('hex'), bytes });
      else reject(new Error(`nbdcopy ${url} -: exit ${code ?? signal} ${stderr}`));
    });
  });
}

/** A random image of SIZE bytes at `path`, a chunk at a time; returns its sha256. */
function randomImage(path: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(CHUNK);
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < SIZE; done += CHUNK) {
      randomFillSync(chunk);
      hash.update(chunk);
      writeSync(fd, chunk);
    }
  } finally { closeSync(fd); }
  return hash.digest('hex');
}

interface Status { device: string; state: string; pid: number | null; requests: number; inFlight: number; failures: number; recoveries: number;
  recoveriesByCause: Record<string, number>; lastFailure: { cause: string } | null; standby: string; bytesWritten: number; bytesRead: number; quarantined: number }

async function status(control: string): Promise<Status> {
  const all = JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as Status[];
  return all.find((s) => s.device === 'disk0')!;
}

/** A receiver for systemd's notify datagrams (Node has no unix datagram sockets; python3 does). */
function notifyReceiver(path: string) {
  const child = spawn('python3', ['-c', 'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True: print(s.recv(4096).decode().replace("\\n"," "),flush=True)', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let heard = '';
  child.stdout.on('data', (c: Buffer) => { heard += c.toString(); });
  return { child, heard: () => heard };
}

/**
 * Rounds of faults per client at most: each kind hits every copy (twice), and a 1 GiB copy on
 * a loaded machine is not turned into fifty recoveries (minutes, and as many chances for a
 * heartbeat missed under load to pass for the injected fault's cause).
 */
const ROUNDS = 2;

/** Faults while `busy` runs: inject throw, kill -9 from outside, inject kill, restart; each waits for its recovery. */
async function faultsDuring(control: string, busy: Promise<unknown>, expected: { exception: number; exit: number; total: number }): Promise<number> {
  let done = false;
  void busy.finally(() => { done = true; }).catch(() => undefined);
  let n = 0;
  const steps = [
    async () => { await shadowdOk(['inject', 'disk0', 'throw', '--control', control]); expected.exception++; },
    async () => { const { pid } = await status(control); assert.ok(pid); process.kill(pid, 'SIGKILL'); expected.exit++; },
    async () => { await shadowdOk(['inject', 'disk0', 'kill', '--control', control]); expected.exit++; },
    async () => { await shadowdOk(['restart', 'disk0', '--control', control]); expected.exit++; },
  ];
  while (!done && n < ROUNDS * steps.length) {
    await steps[n % steps.length]!();
    n++;
    expected.total++;
    await until(async () => { const s = await status(control); return s.recoveries === expected.total && s.state === 'running' ? s : undefined; }, 30_000, `recovery ${expected.total}`);
  }
  return n;
}

test('shadowd run: an NBD export survives inject, restart and kill -9; status, metrics and notify tell it; SIGTERM under load leaves nothing', { skip: missing.length ? `missing ${missing.join(', ')}` : false, timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-run-'));
  const control = join(dir, 'ctl.sock');
  const url = `nbd+unix:///disk0?socket=${join(dir, 'disk0.sock')}`;
  const notify = notifyReceiver(join(dir, 'notify.sock'));
  let service: ServiceProcess | undefined;
  try {
    const image = join(dir, 'image.raw');
    const started = performance.now();
    const took: Record<string, number> = {};
    const lap = (what: string) => { took[what] = Math.round((performance.now() - started) / 1000); };
    const imageSha = randomImage(image);
    lap('image');
    writeFileSync(join(dir, 'shadowd.yaml'), [
      'control: ctl.sock', 'metrics: 127.0.0.1:0', 'faultDrills: true', 'devices:', '  disk0:', '    class: block', '    driver: ram',
      '    domain: process', '    warmStandby: true', '    restart: { intensity: 1000 }', `    config: { sizeBytes: ${SIZE} }`,
      '    frontend: { type: nbd, socket: disk0.sock }', ''].join('\n'));
    await until(async () => (notify.heard().includes('bound') ? true : undefined), 10_000, 'notify receiver bound');
    service = new ServiceProcess(['shadowd.yaml'], { cwd: dir, env: { NOTIFY_SOCKET: join(dir, 'notify.sock') } });
    const ready = await service.ready();
    await until(async () => (notify.heard().includes('READY=1') ? true : undefined), 10_000, 'READY=1 on the notify socket');

    const expected = { exception: 0, exit: 0, total: 0 };
    const write = run('nbdcopy', ['--flush', image, url]);
    const duringWrite = await faultsDuring(control, write, expected);
    await write;
    lap('write');
    const compare = run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', image, url]);
    const duringCompare = await faultsDuring(control, compare, expected);
    await compare;
    lap('compare');
    assert.ok(duringWrite >= 1 && duringCompare >= 1, `faults overlapped the clients: ${duringWrite} during nbdcopy, ${duringCompare} during qemu-img compare`);
    assert.deepEqual(await readBack(url), { sha: imageSha, bytes: SIZE });
    lap('read back');
    t.diagnostic(`1 GiB: seconds since start at the end of each step ${JSON.stringify(took)}; ${expected.total} faults`);

    const s = await status(control);
    assert.equal(s.state, 'running');
    assert.equal(s.failures, expected.total);
    assert.equal(s.recoveries, expected.total);
    assert.deepEqual(s.recoveriesByCause, { ...(expected.exception ? { exception: expected.exception } : {}), exit: expected.exit });
    assert.equal(s.inFlight, 0);
    assert.equal(s.quarantined, 0);
    assert.ok(s.bytesWritten >= SIZE && s.bytesRead >= 2 * SIZE, `bytes ${s.bytesWritten} written, ${s.bytesRead} read`);
    assert.ok(s.lastFailure && s.requests > 0 && typeof s.pid === 'number');

    const metrics = await run('curl', ['-sf', String(ready.metrics)]);
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    if (expected.exception) assert.equal(value('shadowd_recoveries_total{device="disk0",cause="exception",mode="shadow"}'), expected.exception);
    assert.equal(value('shadowd_recoveries_total{device="disk0",cause="exit",mode="shadow"}'), expected.exit);
    assert.equal(value('shadowd_driver_failures_total{device="disk0",cause="exit"}'), expected.exit);
    assert.equal(value('shadowd_recovery_duration_seconds_count{device="disk0"}'), expected.total);
    assert.ok(value('shadowd_bytes_total{device="disk0",direction="write"}') >= SIZE);
    assert.match(metrics, /^process_resident_memory_bytes /m);

    // SIGTERM under load: a reader is running; the service drains, exits 0, leaves nothing.
    const driverPids = [...childrenOf(service.child.pid!)];
    assert.ok(driverPids.length >= 1, 'the process domain\'s driver (and standby) are children of the service');
    const before = (await status(control)).requests;
    const load = run('nbdcopy', [url, 'null:']).catch(() => 'ended by the shutdown');
    await until(async () => ((await status(control)).requests > before ? true : undefined), 30_000, 'the reader under way');
    const exit = await service.stop();
    await load;
    assert.deepEqual(exit, { code: 0, signal: null }, service.stderr.join(''));
    assert.ok(service.lines.some((l) => l.event === 'stopped'));
    assert.deepEqual(driverPids.filter(alive), [], 'driver processes outlived the service');
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.sock') && f !== 'notify.sock'), [], 'sockets left behind');
    await until(async () => (notify.heard().includes('STOPPING=1') ? true : undefined), 10_000, 'STOPPING=1');
  } finally {
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
    notify.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!existsSync(dir));
});
