/**
 * A driver author's path, from the outside: the runtime packed with `npm pack`, installed into
 * a scratch project outside the repository, and used there through its package name only:
 * a smoke program on the public API, `npx shadowd --version`, the driver examples of README.md
 * and docs/writing-drivers.md exactly as printed (compiled against the installed package's
 * types), and a driver started from `shadowd new-driver`. Every driver runs in worker and
 * process domains with a fault injected, its data checked after the recovery.
 */
import { strict as assert } from 'node:assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const runtimeDir = fileURLToPath(new URL('../../../', import.meta.url)); // packages/runtime (from dist/test/integration)
const repo = join(runtimeDir, '../..');
const version = (JSON.parse(readFileSync(join(runtimeDir, 'package.json'), 'utf8')) as { version: string }).version;
const npmMissing = spawnSync('npm', ['--version'], { encoding: 'utf8' }).error !== undefined;

function run(command: string, args: string[], cwd: string, timeout = 60_000): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.ok(!result.error, `${command} ${args.join(' ')}: ${String(result.error)}`);
  return result;
}

function ok(command: string, args: string[], cwd: string): string {
  const result = run(command, args, cwd);
  assert.equal(result.status, 0, `${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The fenced ts block after `<!-- example: name -->` in a markdown file, exactly as printed. */
function example(markdown: string, name: string): string {
  const text = readFileSync(join(repo, markdown), 'utf8');
  const found = new RegExp(`<!-- example: ${name.replace('.', '\\.')} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(text);
  assert.ok(found, `${markdown} has no example ${name}`);
  return found![1];
}

/** Attaches a driver in a domain, writes, injects a fault, reads back after the recovery. */
const harness = `
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRuntime } from 'shadow-drivers';

const [module, domain] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'harness-'));
const image = join(dir, 'disk.img');
writeFileSync(image, new Uint8Array(1 << 20));
const runtime = createRuntime({ faultInjection: true });
const logs = [];
runtime.manager.on('log', (e) => logs.push(e));
try {
  const disk = await runtime.attachBlock({ name: 'd0', driver: pathToFileURL(resolve(module)).href, domain,
    resources: [{ name: 'disk', path: image }] });
  await disk.open();
  const data = new Uint8Array(16384).map((_, i) => (i * 7) % 256);
  await disk.write(8192, data);
  const recovered = once(runtime.manager, 'recovery');
  runtime.inject('d0', { kind: 'throw' });
  const [event] = await recovered;
  const back = await disk.read(8192, 16384);
  if (!back.every((b, i) => b === data[i])) throw new Error('data differs after recovery');
  await disk.flush();
  console.log(JSON.stringify({ ok: true, cause: event.cause, domain: runtime.status('d0').domain, logs: logs.map((l) => l.device) }));
} finally {
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
}
`;

const smoke = `
import { once } from 'node:events';
import { createRuntime, ErrorCodes } from 'shadow-drivers';
import { defineBlockDriver, DeviceError } from 'shadow-drivers/driver/block';
import { defineNetDriver } from 'shadow-drivers/driver/net';
import { defineSoundDriver } from 'shadow-drivers/driver/sound';
import * as devices from 'shadow-drivers/devices';
import * as faults from 'shadow-drivers/faults';
import * as testing from 'shadow-drivers/testing';
for (const f of [defineBlockDriver, DeviceError, defineNetDriver, defineSoundDriver]) if (typeof f !== 'function') throw new Error('missing export');
if (!ErrorCodes || !devices || !faults || !testing) throw new Error('missing subpath');

const runtime = createRuntime({ faultInjection: true });
try {
  const disk = await runtime.attachBlock({ name: 'ram0', driver: 'ram', domain: 'worker', config: { sizeBytes: 1 << 20 } });
  await disk.open();
  const data = new Uint8Array(4096).fill(0x5a);
  await disk.write(4096, data);
  const recovered = once(runtime.manager, 'recovery');
  runtime.inject('ram0', { kind: 'throw' });
  await recovered;
  const back = await disk.read(4096, 4096);
  if (!back.every((b) => b === 0x5a)) throw new Error('ram disk lost data');
  console.log('smoke ok', runtime.status('ram0').recoveries);
} finally {
  await runtime.close();
}
`;

test('the packed package works from a scratch project: API, shadowd, the documented drivers', { skip: npmMissing ? 'npm is not installed' : false, timeout: 180_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'shadow-package-'));
  try {
    // Pack (prepack builds) and install into a project outside the repository.
    const packed = JSON.parse(ok('npm', ['pack', '--json', '--pack-destination', tmp], runtimeDir)) as { filename: string; files: { path: string }[] }[];
    const tgz = join(tmp, packed[0].filename.replace(/^@.*\//, '').replace(/\//g, '-'));
    assert.ok(packed[0].files.some((f) => f.path === 'dist/src/driver/block.js'), 'the tarball ships dist/src');
    assert.ok(!packed[0].files.some((f) => f.path.startsWith('dist/test/')), 'the tarball ships no tests');
    const app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true, type: 'module' }));
    const install = ['install', '--no-audit', '--no-fund', '--no-package-lock'];
    const offline = run('npm', [...install, '--offline', tgz], app);
    if (offline.status !== 0) ok('npm', [...install, tgz], app); // not in the cache: from the registry

    // (a) the public API: a ram disk in a worker, a fault, the data back.
    writeFileSync(join(app, 'smoke.mjs'), smoke);
    assert.match(ok(process.execPath, ['smoke.mjs'], app), /^smoke ok 1$/m);

    // (b) the command line.
    assert.equal(ok('npx', ['--no-install', 'shadowd', '--version'], app).trim(), version);

    // (c) the examples as printed, and a driver from the template, compiled against the installed types.
    const examples = {
      'readme-disk.ts': example('README.md', 'readme-disk.ts'),
      'readme-attach.ts': example('README.md', 'readme-attach.ts'),
      'my-disk.ts': example('docs/writing-drivers.md', 'my-disk.ts'),
      'attach.ts': example('docs/writing-drivers.md', 'attach.ts'),
    };
    for (const [file, text] of Object.entries(examples)) writeFileSync(join(app, file), text);
    ok('npx', ['--no-install', 'shadowd', 'new-driver', 'block', 'template'], app);
    ok('npx', ['--no-install', 'shadowd', 'new-driver', 'block', 'same', '--name', 'my-disk'], app);
    assert.equal(readFileSync(join(app, 'same', 'driver.ts'), 'utf8'), examples['my-disk.ts'], 'the template driver is the guide\'s');
    rmSync(join(app, 'same'), { recursive: true });
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, skipLibCheck: true,
        types: ['node'], typeRoots: [join(repo, 'node_modules/@types')],
      },
      include: ['*.ts', 'template/*.ts'],
    }));
    ok(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', app], app);

    writeFileSync(join(app, 'harness.mjs'), harness);
    for (const driver of ['readme-disk.js', 'my-disk.js', 'template/driver.js']) {
      for (const domain of ['worker', 'process']) {
        const out = JSON.parse(ok(process.execPath, ['harness.mjs', driver, domain], app).trim()) as { ok: boolean; cause: string; domain: string; logs: string[] };
        assert.deepEqual([out.ok, out.cause, out.domain], [true, 'exception', domain], `${driver} in ${domain}`);
      }
    }
    const attach = run(process.execPath, ['attach.js'], app);
    assert.equal(attach.status, 0, attach.stderr);
    assert.match(attach.stdout, /^disk-worker: recovered in [\d.]+ ms, data intact\ndisk-process: recovered in [\d.]+ ms, data intact\n$/);
    assert.match(attach.stderr, /^\[disk-worker\] info: my-disk: .*disk\.img, 1048576 bytes$/m, 'driver logs reach stderr with the device name');
    assert.match(attach.stderr, /^\[disk-process\] info: my-disk: /m);
    const readme = run(process.execPath, ['readme-attach.js'], app);
    assert.equal(readme.status, 0, readme.stderr);
    assert.equal(readme.stdout, '7\n');
    ok(process.execPath, ['--test', 'template/driver.test.js'], app);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
