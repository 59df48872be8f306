/**
 * `shadowd status` tells each device's driver and version: a built-in driver by its manifest
 * name, a driver named by module path by its absolute path, the runtime's package version,
 * when the device was attached and its uptime, and its last failure (time and cause) after a
 * fault drill; the table shows the same.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ServiceProcess, shadowd, shadowdOk, until } from '../helpers/service-process.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const ramModule = new URL('../../src/drivers/block/ram.js', import.meta.url).pathname;

interface Status { device: string; state: string; driver: string; driverModule: string | null; runtimeVersion: string; attachedAt: string | null;
  uptimeSeconds: number; recoveries: number; lastFailure: { at: string; cause: string; message: string } | null }

test('shadowd status --json: driver, module, version, uptime and last failure of each device', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-status-'));
  const control = join(dir, 'ctl.sock');
  let service: ServiceProcess | undefined;
  try {
    // A driver named by path has no manifest to declare its resources: the config grants them.
    const disk = (name: string, driver: string, resources: string[] = []) => [`  ${name}:`, '    class: block', `    driver: ${driver}`,
      '    config: { sizeBytes: 1048576 }', ...resources, `    frontend: { type: nbd, socket: ${name}.sock }`];
    writeFileSync(join(dir, 'shadowd.yaml'), ['control: ctl.sock', 'metrics: false', 'faultDrills: true', 'devices:',
      ...disk('byname', 'ram'), ...disk('bypath', ramModule, ['    resources: [{ name: medium, memoryBytes: 1048576 }]']), ''].join('\n'));
    const started = Date.now();
    service = new ServiceProcess(['shadowd.yaml'], { cwd: dir });
    await service.ready();
    const statuses = async () => JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as Status[];
    await shadowdOk(['inject', 'bypath', 'throw', '--control', control]);
    const all = await until(async () => { const s = await statuses(); return s.find((d) => d.device === 'bypath')!.recoveries === 1 ? s : undefined; }, 30_000, 'recovery');
    const [byName, byPath] = [all.find((s) => s.device === 'byname')!, all.find((s) => s.device === 'bypath')!];
    assert.equal(byName.driver, 'ram');
    assert.equal(byName.driverModule, null, 'a built-in driver has no module path');
    assert.equal(byPath.driver, ramModule);
    assert.equal(byPath.driverModule, ramModule);
    for (const s of [byName, byPath]) {
      assert.equal(s.runtimeVersion, version);
      assert.equal(s.state, 'running');
      assert.ok(s.attachedAt && Date.parse(s.attachedAt) >= started - 1000 && Date.parse(s.attachedAt) <= Date.now(), `attachedAt ${s.attachedAt}`);
      assert.ok(s.uptimeSeconds >= 0 && s.uptimeSeconds <= (Date.now() - started) / 1000 + 1, `uptime ${s.uptimeSeconds}`);
    }
    assert.equal(byName.lastFailure, null, 'the other device never failed');
    assert.equal(byPath.lastFailure?.cause, 'exception');
    assert.match(byPath.lastFailure!.message, /injected fault/);
    assert.ok(Date.parse(byPath.lastFailure!.at) >= Date.parse(byPath.attachedAt!), 'the failure came after the attach');
    const later = (await statuses()).find((s) => s.device === 'byname')!;
    assert.ok(later.uptimeSeconds >= byName.uptimeSeconds, 'uptime does not go backwards');
    const table = await shadowdOk(['status', '--control', control]);
    assert.match(table, /VERSION/);
    assert.match(table, new RegExp(`byname\\s+block\\s+ram\\s+${version.replace(/\./g, '\\.')}`));
    assert.ok(table.includes(ramModule), 'the table shows the module path');
    assert.deepEqual(await service.stop(), { code: 0, signal: null });
  } finally {
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shared standbys in the service: status says shared, the spare pool is a metric, a drill recovers from it', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-spares-'));
  const control = join(dir, 'ctl.sock');
  let service: ServiceProcess | undefined;
  try {
    const disk = (name: string) => [`  ${name}:`, '    class: block', '    driver: ram', '    warmStandby: shared',
      '    config: { sizeBytes: 1048576 }', `    frontend: { type: nbd, socket: ${name}.sock }`];
    writeFileSync(join(dir, 'shadowd.yaml'), ['control: ctl.sock', 'metrics: 127.0.0.1:0', 'faultDrills: true', 'spareDomains: 2', 'devices:',
      ...disk('one'), ...disk('two'), ''].join('\n'));
    service = new ServiceProcess(['shadowd.yaml'], { cwd: dir });
    const ready = await service.ready() as { metrics: string };
    const spares = async () => {
      const text = await (await fetch(ready.metrics)).text();
      const value = (state: string) => Number(new RegExp(`^shadowd_spare_domains\\{state="${state}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      return { booted: value('booted'), starting: value('starting') };
    };
    await until(async () => ((await spares()).booted === 2 ? true : undefined), 30_000, 'two booted spares in the metrics');
    const statuses = async () => JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as (Status & { standby: string })[];
    for (const s of await statuses()) assert.equal(s.standby, 'shared', s.device);
    await shadowdOk(['inject', 'two', 'exit', '--control', control]);
    await until(async () => ((await statuses()).find((d) => d.device === 'two')!.recoveries === 1 ? true : undefined), 30_000, 'recovery');
    // The spare it took is replaced.
    await until(async () => { const n = await spares(); return n.booted === 2 && n.starting === 0 ? true : undefined; }, 30_000, 'the pool refilled');
    assert.deepEqual(await service.stop(), { code: 0, signal: null });
  } finally {
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});


test('domain groups in the service: two disks in one group, one drill recovers both, a bad group is refused by run --check, a line each', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-groups-'));
  const control = join(dir, 'ctl.sock');
  let service: ServiceProcess | undefined;
  try {
    const disk = (name: string, extra: string[] = []) => [`  ${name}:`, '    class: block', '    driver: ram', '    domainGroup: shelf',
      '    config: { sizeBytes: 1048576 }', `    frontend: { type: nbd, socket: ${name}.sock }`, ...extra];
    writeFileSync(join(dir, 'bad.yaml'), ['devices:', ...disk('one'), ...disk('two', ['    memoryLimitMb: 128', '    domain: process']), ''].join('\n'));
    const check = await shadowd(['run', '--check', 'bad.yaml'], { cwd: dir });
    assert.notEqual(check.code, 0);
    assert.match(check.stderr, /devices\.two\.domainGroup: expected a worker domain/);
    assert.match(check.stderr, /devices\.two\.memoryLimitMb: expected 64, the heap limit of domain group "shelf" \(set by devices\.one\), found 128/);
    assert.doesNotMatch(check.stderr, /\n\s+at /, 'no stack trace');
    writeFileSync(join(dir, 'shadowd.yaml'), ['control: ctl.sock', 'faultDrills: true', 'devices:', ...disk('one'), ...disk('two'), ''].join('\n'));
    service = new ServiceProcess(['shadowd.yaml'], { cwd: dir });
    await service.ready();
    const statuses = async () => JSON.parse(await shadowdOk(['status', '--json', '--control', control])) as (Status & { standby: string; domainGroup: string | null })[];
    for (const s of await statuses()) assert.equal(s.domainGroup, 'shelf', s.device);
    await shadowdOk(['inject', 'two', 'exit', '--control', control]);
    await until(async () => ((await statuses()).every((d) => d.recoveries === 1 && d.state === 'running') ? true : undefined), 30_000,
      'both devices of the group recovered');
    assert.deepEqual(await service.stop(), { code: 0, signal: null });
  } finally {
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
