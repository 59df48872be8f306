/**
 * What the dashboard costs the service: a `ram` disk served by `shadowd run` (a real child
 * process) is written and read whole by `nbdcopy` through its NBD export, with no dashboard
 * connected and with ten (ten event streams, each read as a browser would, receiving the
 * device snapshot every second), in alternating order over rounds. Prints the medians (MB/s)
 * and the ratio ten/none. Run: node packages/lab/dist/src/bench/dashboard-cost.js [rounds] [MiB]
 */
import { execFile, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { median } from './stats.js';

const shadowdBin = join(dirname(createRequire(import.meta.url).resolve('shadow-drivers/package.json')), 'bin/shadowd.js');

function nbdcopy(from: string, to: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => execFile('nbdcopy', [from, to], { timeout: 120_000 }, (error, _o, stderr) =>
    error ? reject(new Error(`nbdcopy: ${stderr || error.message}`)) : resolve(performance.now() - started)));
}

/** An event stream read to the end, as a page would; resolves once its `hello` arrived. */
function viewer(origin: string): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${origin}events`, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { if (chunk.includes('event: hello')) resolve(req); });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
  });
}

async function startService(dir: string, sizeBytes: number): Promise<{ origin: string; stop(): Promise<void> }> {
  writeFileSync(join(dir, 'shadowd.yaml'), ['control: ctl.sock', 'metrics: 127.0.0.1:0', 'devices:', '  disk0:', '    class: block', '    driver: ram',
    `    config: { sizeBytes: ${sizeBytes} }`, '    frontend: { type: nbd, socket: disk0.sock }', ''].join('\n'));
  const child = spawn(process.execPath, [shadowdBin, 'run', 'shadowd.yaml'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const ready = /"event":"ready".*?"dashboard":"([^"]+)"/.exec(buffered);
      if (ready) resolve(ready[1]!);
    });
    child.on('exit', (code) => reject(new Error(`shadowd run exited ${code} before ready`)));
  });
  return { origin: url.slice(0, url.indexOf('#')), async stop() { child.kill('SIGTERM'); await exited; } };
}

export async function dashboardCost(rounds: number, sizeMiB: number): Promise<Record<string, { write: number; read: number }>> {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-cost-'));
  const sizeBytes = sizeMiB * 1024 * 1024;
  const service = await startService(dir, sizeBytes);
  try {
    const image = join(dir, 'image.raw');
    writeFileSync(image, randomFillSync(Buffer.alloc(sizeBytes)));
    const disk = `nbd+unix:///disk0?socket=${join(dir, 'disk0.sock')}`;
    await nbdcopy(image, disk); // no measured copy is the first to touch the disk's memory
    const samples: Record<string, { write: number[]; read: number[] }> = { none: { write: [], read: [] }, ten: { write: [], read: [] } };
    for (let round = 0; round < rounds; round++) {
      for (const viewers of round % 2 === 0 ? [0, 10] : [10, 0]) {
        const open = await Promise.all(Array.from({ length: viewers }, () => viewer(service.origin)));
        const s = samples[viewers === 0 ? 'none' : 'ten']!;
        s.write.push(sizeBytes / 1e6 / ((await nbdcopy(image, disk)) / 1000));
        s.read.push(sizeBytes / 1e6 / ((await nbdcopy(disk, 'null:')) / 1000));
        for (const req of open) req.destroy();
      }
    }
    return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { write: median(v.write), read: median(v.read) }]));
  } finally {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.argv[2] ?? 7);
  const sizeMiB = Number(process.argv[3] ?? 128);
  const result = await dashboardCost(rounds, sizeMiB);
  console.log(`ram disk through shadowd's NBD export, nbdcopy ${sizeMiB} MiB, median of ${rounds} rounds (MB/s):`);
  for (const [k, v] of Object.entries(result)) console.log(`  ${k === 'none' ? 'no dashboard' : '10 dashboards'}: write ${v.write.toFixed(0)}, read ${v.read.toFixed(0)}`);
  console.log(`  10/none: write ${(result.ten!.write / result.none!.write).toFixed(3)}, read ${(result.ten!.read / result.none!.read).toFixed(3)}`);
}
