/**
 * Every mistake an operator can make in a config or an option: one line on stderr naming the
 * field, a non-zero exit, no stack trace, nothing started and nothing left behind (the
 * directory holds only what the case put there). Each case runs `shadowd` as a real process.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { shadowd } from '../helpers/service-process.js';

interface Case {
  name: string;
  /** The config's text (YAML unless `file` ends in .json); omitted for option cases. */
  config?: string;
  file?: string;
  /** The command line; CONFIG stands for the config's path, DIR for the case's directory. */
  args?: string[];
  /** Text the one line must contain (the field). */
  field: string;
  /** Extra setup in the case's directory; returns an undo. */
  setup?: (dir: string) => Promise<() => Promise<void>> | (() => Promise<void>);
}

const disk = (extra: string, frontend = 'frontend: { type: nbd, socket: d.sock }') =>
  `devices:\n  d:\n    class: block\n    driver: ram\n    ${frontend}\n${extra ? `    ${extra}\n` : ''}`;

const cases: Case[] = [
  { name: 'no devices field', config: 'control: c.sock\n', field: 'devices' },
  { name: 'unknown top-level field', config: `devicez: {}\n${disk('')}`, field: 'devicez: unknown field' },
  { name: 'unknown class', config: 'devices:\n  d: { class: floppy, driver: ram }\n', field: 'devices.d.class' },
  { name: 'driver not a string', config: 'devices:\n  d: { class: block, driver: 7, frontend: { type: nbd, socket: d.sock } }\n', field: 'devices.d.driver' },
  { name: 'bad domain', config: disk('domain: thread'), field: 'devices.d.domain' },
  { name: 'bad recovery mode', config: disk('recovery: magic'), field: 'devices.d.recovery' },
  { name: 'warmStandby not boolean', config: disk('warmStandby: "yes"'), field: 'devices.d.warmStandby' },
  { name: 'shared standby for a process-domain ram disk (its medium is a descriptor)', config: disk('domain: process\n    warmStandby: shared'), field: 'devices.d.warmStandby' },
  { name: 'negative restart intensity', config: disk('restart: { intensity: -1 }'), field: 'devices.d.restart.intensity' },
  { name: 'jitter above 1', config: disk('restart: { jitter: 2 }'), field: 'devices.d.restart.jitter' },
  { name: 'unknown restart field', config: disk('restart: { retries: 3 }'), field: 'devices.d.restart.retries: unknown field' },
  { name: 'zero heartbeat', config: disk('deadlines: { heartbeatMs: 0 }'), field: 'devices.d.deadlines.heartbeatMs' },
  { name: 'fractional memory limit', config: disk('memoryLimitMb: 1.5'), field: 'devices.d.memoryLimitMb' },
  { name: 'sandbox as a word', config: disk('sandbox: strict'), field: 'devices.d.sandbox' },
  { name: 'no frontend', config: 'devices:\n  d: { class: block, driver: ram }\n', field: 'devices.d.frontend' },
  { name: 'unknown frontend type', config: disk('', 'frontend: { type: iscsi, socket: d.sock }'), field: 'devices.d.frontend.type' },
  { name: 'nbd frontend with neither socket nor address', config: disk('', 'frontend: { type: nbd }'), field: 'devices.d.frontend.socket' },
  { name: 'address without a port', config: disk('', 'frontend: { type: nbd, address: localhost }'), field: 'devices.d.frontend.address' },
  { name: 'port out of range', config: disk('', 'frontend: { type: nbd, address: "127.0.0.1:70000" }'), field: 'devices.d.frontend.address' },
  { name: 'socket directory missing', config: disk('', 'frontend: { type: nbd, socket: nosuchdir/d.sock }'), field: 'devices.d.frontend.socket' },
  { name: 'a regular file where the socket goes', config: disk(''), field: 'devices.d.frontend.socket',
    setup: (dir) => { writeFileSync(join(dir, 'd.sock'), 'x'); return async () => undefined; } },
  { name: 'socket in use by a running server', config: disk(''), field: 'devices.d.frontend.socket', setup: async (dir) => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(join(dir, 'd.sock'), r));
    return () => new Promise<void>((r) => server.close(() => r()));
  } },
  { name: 'two devices on one socket', config: `${disk('')}  e:\n    class: block\n    driver: ram\n    frontend: { type: nbd, socket: d.sock }\n`, field: 'devices.e.frontend.socket' },
  { name: 'unknown driver', config: 'devices:\n  d: { class: block, driver: nosuch, frontend: { type: nbd, socket: d.sock } }\n', field: 'devices.d.driver' },
  { name: 'driver module missing', config: 'devices:\n  d: { class: block, driver: ./nope.js, frontend: { type: nbd, socket: d.sock } }\n', field: 'devices.d.driver' },
  { name: 'unknown fallback driver', config: disk('fallbackDriver: nosuch'), field: 'devices.d.fallbackDriver' },
  { name: 'ram size 1e18', config: disk('config: { sizeBytes: 1e18 }'), field: 'devices.d.config.sizeBytes' },
  { name: 'ram size not a multiple of the block size', config: disk('config: { sizeBytes: 1000 }'), field: 'devices.d.config.sizeBytes' },
  { name: 'file driver without a path', config: 'devices:\n  d: { class: block, driver: file, frontend: { type: nbd, socket: d.sock } }\n', field: 'devices.d.config' },
  { name: 'resource without a name', config: disk('resources: [{ path: x.img }]'), field: 'devices.d.resources[0].name' },
  { name: 'net port of an undeclared switch', config: 'devices:\n  n: { class: net, driver: tap, config: { ifname: t0 }, frontend: { type: switch, switch: sw9 } }\n', field: 'devices.n.frontend.switch' },
  { name: 'net device with a block frontend', config: 'devices:\n  n: { class: net, driver: tap, frontend: { type: nbd, socket: n.sock } }\n', field: 'devices.n.frontend.type' },
  { name: 'metrics address without a port', config: `metrics: nowhere\n${disk('')}`, field: 'metrics' },
  { name: 'faultDrills as a word', config: `faultDrills: "on"\n${disk('')}`, field: 'faultDrills' },
  { name: 'bad log level', config: `logLevel: loud\n${disk('')}`, field: 'logLevel' },
  { name: 'device name with a space', config: 'devices:\n  "bad name": { class: block, driver: ram, frontend: { type: nbd, socket: d.sock } }\n', field: 'devices.bad name' },
  { name: 'control socket directory missing', config: `control: nosuchdir/c.sock\n${disk('')}`, field: 'control' },
  { name: 'YAML syntax error', config: 'devices:\n  d: [unclosed\n', field: 'not valid YAML' },
  { name: 'JSON syntax error', config: '{"devices": {', file: 'bad.json', field: 'not valid JSON' },
  { name: 'JSON with an unknown device field', config: JSON.stringify({ devices: { d: { class: 'block', driver: 'ram', frontend: { type: 'nbd', socket: 'd.sock' }, colour: 'red' } } }), file: 'c.json', field: 'devices.d.colour: unknown field' },
  { name: 'top level a list', config: '- a\n- b\n', field: '(top level)' },
  { name: 'config file missing', args: ['run', 'DIR/nosuch.yaml'], field: 'nosuch.yaml' },
  // Options.
  { name: 'run: unknown option', args: ['run', '--bogus'], field: '--bogus' },
  { name: 'inject: unknown fault kind', args: ['inject', 'd', 'nosuch', '--control', 'DIR/c.sock'], field: 'kind' },
  { name: 'status: no service on the socket', args: ['status', '--control', 'DIR/c.sock'], field: 'SD_ERR_NOT_FOUND' },
  { name: 'export: bad --domain', args: ['export', '--domain', 'thread', '--socket', 'DIR/e.sock'], field: '--domain' },
  { name: 'export: port out of range', args: ['export', '--port', '70000'], field: '--port' },
  { name: 'export: port not a number', args: ['export', '--port', 'abc'], field: '--port' },
  { name: 'export: size 1e18', args: ['export', '--size', '1e18', '--socket', 'DIR/e.sock'], field: '--size' },
  { name: 'export: size not a multiple of the block size', args: ['export', '--size', '1000', '--socket', 'DIR/e.sock'], field: '--size' },
  { name: 'export: socket directory missing', args: ['export', '--socket', 'DIR/nosuchdir/e.sock'], field: '--socket' },
  { name: 'export: a file where the socket goes', args: ['export', '--socket', 'DIR/e.sock'], field: '--socket',
    setup: (dir) => { writeFileSync(join(dir, 'e.sock'), 'x'); return async () => undefined; } },
  { name: 'export: file driver without --path', args: ['export', '--driver', 'file', '--socket', 'DIR/e.sock'], field: '--path' },
];

async function runCase(c: Case, root: string, index: number, problems: string[]): Promise<void> {
  const dir = join(root, String(index));
  mkdirSync(dir);
  const file = join(dir, c.file ?? 'config.yaml');
  if (c.config !== undefined) writeFileSync(file, c.config);
  const undo = c.setup ? await c.setup(dir) : async () => undefined;
  const before = readdirSync(dir).sort();
  try {
    await check(c, dir, file, before);
  } catch (err) {
    problems.push((err as Error).message);
  } finally {
    await undo();
  }
}

async function check(c: Case, dir: string, file: string, before: string[]): Promise<void> {
  {
    const args = (c.args ?? ['run', 'CONFIG']).map((a) => a.replace('CONFIG', file).replace('DIR', dir));
    const run = await shadowd(args, { cwd: dir });
    const lines = run.stderr.trim().split('\n');
    assert.notEqual(run.code, 0, `${c.name}: exit code 0`);
    assert.equal(lines.length, 1, `${c.name}: expected one line on stderr, got:\n${run.stderr}`);
    assert.ok(lines[0]!.includes(c.field), `${c.name}: the line does not name ${c.field}: ${lines[0]}`);
    assert.ok(!/\n\s+at /.test(run.stderr), `${c.name}: a stack trace`);
    assert.equal(run.stdout, '', `${c.name}: something started: ${run.stdout}`);
    assert.deepEqual(readdirSync(dir).sort(), before, `${c.name}: something was left behind`);
  }
}

test(`${cases.length} bad configs and options: one line naming the field, non-zero exit, nothing started or left behind`, async () => {
  assert.ok(cases.length >= 30);
  const root = mkdtempSync(join(tmpdir(), 'shadowd-bad-'));
  try {
    // Four at a time: each is a short node process.
    const problems: string[] = [];
    for (let i = 0; i < cases.length; i += 4) await Promise.all(cases.slice(i, i + 4).map((c, j) => runCase(c, root, i + j, problems)));
    assert.deepEqual(problems, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a valid config passes --check without starting anything', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadowd-check-'));
  try {
    writeFileSync(join(dir, 'c.yaml'), `switches: { sw0: {} }\n${disk('domain: process\n    restart: { intensity: 5, periodMs: 1000 }\n    deadlines: { heartbeatMs: 100 }')}  n:\n    class: net\n    driver: tap\n    config: { ifname: shtap0 }\n    frontend: { type: switch, switch: sw0 }\n`);
    const run = await shadowd(['run', '--check', 'c.yaml'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /valid \(2 devices\)/);
    assert.deepEqual(readdirSync(dir), ['c.yaml']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
