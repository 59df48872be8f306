/**
 * The paper's storage rows: real applications on a real kernel file system (ext4 on a loop
 * device over nbdfuse over our NBD server) whose disk is a shadowed driver, while faults of
 * several kinds hit that driver. Each application is checked by a real tool against a run
 * without faults: a compiler (gcc + make; program output and every object file's bytes), an
 * encoder (sox + lame; the MP3's bytes) and a database (the sqlite3 CLI; integrity_check,
 * balances, ledger). Then the file system is unmounted, the disk's bytes are read through
 * the shadowed device and `e2fsck -fn` must find the image clean. The disk is the `ram`
 * driver, the `file` driver, or the `nbd` driver as the client of a real nbdkit the test starts.
 * Needs root and /dev/fuse; skips loudly without them.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime, faultKinds, type DriverSpec, type FaultKind } from 'shadow-drivers';
import { faultLoop } from 'shadow-drivers/testing';
import { expectNoLeaks, requires, snapshot } from 'shadow-drivers/testing';
import { nbdkit, ONE_THREAD } from '../../src/harness/nbdkit.js';
import { mounted, mountStack, run, saveImage, type Run } from '../helpers/storage-stack.js';

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** The stack (nbdfuse, a loop device, ext4 mounted), the applications, and e2fsck on the image. */
const needs = ['root', 'loop', 'fuse', 'nbdfuse', 'fusermount3', 'losetup', 'mkfs.ext4', 'mount', 'e2fsck', 'gcc', 'make', 'sox', 'lame', 'sqlite3'];
const missing = requires(...needs);
const missingNbdkit = requires(...needs, 'nbdkit');
if (missing) console.error(`\n*** SKIPPING the storage application tests: ${missing} ***\n`);

/** Every fault kind, memory exhaustion included. */
const KINDS: FaultKind[] = [...faultKinds];


// ---- compiler: a generated C project, built with make -j2 -------------------------------

const UNITS = 30;

async function writeCProject(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const decls: string[] = [];
  const calls: string[] = [];
  for (let u = 0; u < UNITS; u++) {
    const body = [`#include "units.h"`, ''];
    for (let f = 0; f < 4; f++) {
      const name = `u${u}_f${f}`;
      decls.push(`unsigned long ${name}(unsigned long x);`);
      calls.push(`  acc = ${name}(acc ^ ${u * 4 + f}UL); printf("%s %lu\\n", "${name}", acc);`);
      body.push(`unsigned long ${name}(unsigned long x) {`,
        `  unsigned long h = ${(u * 2654435761 + f * 40503) >>> 0}UL ^ x;`,
        `  for (int i = 0; i < ${50 + u + f}; i++) { h ^= h << ${(u + f) % 7 + 5}; h ^= h >> ${(u * 3 + f) % 5 + 7}; h += (unsigned long)i * ${f + 3}UL; }`,
        `  return h;`, `}`, '');
    }
    await writeFile(join(dir, `u${u}.c`), body.join('\n'));
  }
  await writeFile(join(dir, 'units.h'), ['#ifndef UNITS_H', '#define UNITS_H', ...decls, '#endif', ''].join('\n'));
  await writeFile(join(dir, 'main.c'), ['#include <stdio.h>', '#include "units.h"', 'int main(void) {',
    '  unsigned long acc = 1;', ...calls, '  return 0;', '}', ''].join('\n'));
  const objects = ['main.o', ...Array.from({ length: UNITS }, (_, u) => `u${u}.o`)];
  await writeFile(join(dir, 'Makefile'), [
    'CFLAGS = -O2 -Wall -Werror',
    `OBJS = ${objects.join(' ')}`,
    'prog: $(OBJS)', '\t$(CC) -o $@ $(OBJS)',
    '%.o: %.c units.h', '\t$(CC) $(CFLAGS) -c $< -o $@', '',
  ].join('\n'));
}

/** Builds and runs the project in `dir`; returns the program's output and each object's hash. */
async function build(dir: string, runs: Run[]): Promise<{ output: string; objects: Record<string, string> }> {
  runs.push(await run('make', ['-s', '-j2', '-C', dir]));
  const executed = await run(join(dir, 'prog'), [], { cwd: dir });
  runs.push(executed);
  const objects: Record<string, string> = {};
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.o')).sort()) objects[name] = sha256(await readFile(join(dir, name)));
  return { output: executed.stdout, objects };
}

// ---- encoder: sox synthesises a WAV, lame encodes it ------------------------------------

/**
 * Synthesises a WAV and encodes it. Each file is synced to the disk, and the WAV dropped from
 * the page cache before lame reads it, so the encoder's bytes really cross the driver.
 */
async function encode(dir: string, runs: Run[]): Promise<{ wav: string; mp3: string }> {
  await mkdir(dir, { recursive: true });
  const wav = join(dir, 'src.wav');
  const mp3 = join(dir, 'out.mp3');
  // -R -D: repeatable, no dither (dither is random noise: two runs would differ).
  runs.push(await run('sox', ['-R', '-D', '-n', '-r', '44100', '-c', '2', '-b', '16', wav, 'synth', '40', 'sine', '440', 'sine', '660']));
  runs.push(await run('sync', [wav]));
  runs.push(await run('dd', [`if=${wav}`, 'iflag=nocache', 'count=0', 'status=none']));
  runs.push(await run('lame', ['--quiet', wav, mp3]));
  runs.push(await run('sync', [mp3]));
  return { wav: sha256(await readFile(wav)), mp3: sha256(await readFile(mp3)) };
}

// ---- database: transfers between accounts, each its own transaction ----------------------

const ACCOUNTS = 100;
const START = 1000;

/** Runs `transfers` transfers through the sqlite3 CLI on `file`; returns the model's balances. */
async function bank(file: string, transfers: number, batch: number, runs: Run[]): Promise<number[]> {
  const balances = new Array<number>(ACCOUNTS).fill(START);
  const schema = ['PRAGMA journal_mode=WAL;',
    'CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);',
    'CREATE TABLE ledger(id INTEGER PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, amount INTEGER NOT NULL);',
    'BEGIN;', ...balances.map((b, id) => `INSERT INTO accounts VALUES(${id}, ${b});`), 'COMMIT;'];
  runs.push(await run('sqlite3', ['-bail', file], { input: schema.join('\n') + '\n' }));
  let x = 12345;
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  for (let done = 0; done < transfers; done += batch) {
    const sql = ['PRAGMA synchronous=FULL;'];
    for (let t = done; t < Math.min(transfers, done + batch); t++) {
      const src = next() % ACCOUNTS;
      const dst = (src + 1 + (next() % (ACCOUNTS - 1))) % ACCOUNTS;
      const amount = next() % 50 + 1;
      balances[src]! -= amount;
      balances[dst]! += amount;
      sql.push(`BEGIN; UPDATE accounts SET balance = balance - ${amount} WHERE id = ${src}; `
        + `UPDATE accounts SET balance = balance + ${amount} WHERE id = ${dst}; `
        + `INSERT INTO ledger(id, src, dst, amount) VALUES(${t + 1}, ${src}, ${dst}, ${amount}); COMMIT;`);
    }
    runs.push(await run('sqlite3', ['-bail', file], { input: sql.join('\n') + '\n' }));
  }
  return balances;
}

async function checkBank(file: string, transfers: number, balances: number[], runs: Run[]): Promise<void> {
  const query = async (sql: string) => {
    const r = await run('sqlite3', ['-bail', file, sql]);
    runs.push(r);
    return r.stdout.trim();
  };
  assert.equal(await query('PRAGMA integrity_check;'), 'ok');
  assert.equal(Number(await query('SELECT sum(balance) FROM accounts;')), ACCOUNTS * START, 'money was created or lost');
  assert.equal(await query('SELECT count(*) || \' \' || min(id) || \' \' || max(id) FROM ledger;'), `${transfers} 1 ${transfers}`,
    'the ledger lost a committed transfer');
  assert.equal(await query('SELECT group_concat(balance, \',\') FROM (SELECT balance FROM accounts ORDER BY id);'), balances.join(','),
    'balances differ from the model');
}

// ---- the test ---------------------------------------------------------------------------

interface Setup {
  name: string;
  size: number;
  spec: Omit<DriverSpec, 'className' | 'name'>;
  /**
   * Prepares what the driver needs in the test's directory; returns its config. What it
   * starts it hands to `undo`, to be stopped after the runtime is closed, even on failure.
   */
  prepare?: (dir: string, undo: (step: () => Promise<void>) => void) => Promise<DriverSpec['config']>;
}

async function applicationsOn(setup: Setup, apps: { compiler: boolean; encoder: boolean; transfers: number; batch: number }): Promise<void> {
  const before = snapshot();
  const dir = await mkdtemp(join(tmpdir(), 'shadow-apps-'));
  const rt = createRuntime({ faultInjection: true });
  const runs: Run[] = [];
  const started = Date.now();
  const undo: (() => Promise<void>)[] = [];
  try {
    const config = (await setup.prepare?.(dir, (step) => undo.push(step))) ?? setup.spec.config;
    const disk = await rt.attachBlock({ name: setup.name, ...setup.spec, config });
    await disk.open();
    const stack = await mountStack(disk, dir, setup.size);
    let problems: string[] = [];
    let faults: ReturnType<typeof faultLoop> | undefined;
    let applications: Promise<void> | undefined;
    const reference = join(dir, 'reference');
    try {
      // Fault-free references, in a plain directory, built with the same relative paths.
      const expected = apps.compiler ? (await writeCProject(join(reference, 'c')), await build(join(reference, 'c'), runs)) : undefined;
      const expectedSound = apps.encoder ? await encode(join(reference, 'sound'), runs) : undefined;
      const setUp = Date.now();

      faults = faultLoop(rt, setup.name, disk, KINDS, 150);
      const recoveriesAt = () => rt.status(setup.name)!.recoveries;
      const phases: string[] = [];
      applications = (async () => {
        if (expected) {
          const r0 = recoveriesAt();
          const c = join(stack.mountpoint, 'c');
          await writeCProject(c);
          const built = await build(c, runs);
          assert.equal(built.output, expected.output, 'the program built on the shadowed disk prints something else');
          assert.deepEqual(built.objects, expected.objects, 'object files differ from the fault-free build');
          assert.equal(Object.keys(built.objects).length, UNITS + 1);
          phases.push(`compiler ${recoveriesAt() - r0}`);
        }
        if (expectedSound) {
          const r0 = recoveriesAt();
          const encoded = await encode(join(stack.mountpoint, 'sound'), runs);
          assert.deepEqual(encoded, expectedSound, 'the encoded MP3 differs from the fault-free encode');
          phases.push(`encoder ${recoveriesAt() - r0}`);
        }
        if (apps.transfers > 0) {
          const r0 = recoveriesAt();
          const db = join(stack.mountpoint, 'bank.db');
          const balances = await bank(db, apps.transfers, apps.batch, runs);
          await checkBank(db, apps.transfers, balances, runs);
          phases.push(`database ${recoveriesAt() - r0}`);
        }
      })();
      // A device that stops recovering leaves the applications waiting on the kernel: fail now.
      await Promise.race([applications, faults.failed]);
      await faults.stop();
      console.log(`# ${setup.name}: set-up ${setUp - started} ms, applications ${Date.now() - setUp} ms; recoveries per application: ${phases.join(', ')}`);
    } finally {
      // If the fault loop failed, the device may be stuck with the kernel's I/O waiting on it:
      // closing the runtime fails what it holds, so the applications and the stack can end.
      if (await faults?.stop().then(() => false, () => true)) await rt.close();
      problems = await stack.teardown();
      await applications?.catch(() => undefined);
    }
    assert.deepEqual(problems, [], 'tear-down failed');
    assert.equal(stack.server.stats.errorReplies, 0, 'the kernel was sent an I/O error');

    // Outside the mount: the disk's bytes, read through the shadowed device, are a clean ext4.
    const image = join(dir, 'disk.img');
    await saveImage(disk, setup.size, image);
    runs.push(await run('e2fsck', ['-fn', image]));

    const recoveries = rt.status(setup.name)!.recoveries;
    for (const r of runs.filter((r) => r.ms > 300)) console.log(`# ${r.ms} ms  ${r.command.slice(0, 100)}`);
    console.log(`# faults injected: ${faults?.injected.join(', ')}; recoveries ${recoveries}; total ${Date.now() - started} ms`);
    assert.ok(recoveries >= 3, `only ${recoveries} recoveries happened while the applications ran`);
  } finally {
    await rt.close();
    for (const step of undo.reverse()) await step();
    await rm(dir, { recursive: true, force: true });
  }
  const table = await readFile('/proc/mounts', 'utf8');
  assert.ok(!table.includes(dir), `a mount is left under ${dir}`);
  assert.ok(!(await run('losetup', ['-a'])).stdout.includes(dir), 'a loop device is left attached');
  assert.equal(await mounted(join(dir, 'fuse')), false);
  await expectNoLeaks(before);
}

/** A sparse image of `size` bytes in `dir`. */
async function sparseImage(dir: string, size: number): Promise<string> {
  const image = join(dir, 'backing.img');
  await writeFile(image, Buffer.alloc(0));
  await truncate(image, size);
  return image;
}

const fast = { heartbeatMs: 50, heartbeatTimeoutMs: 500, deadlineScale: 0.5, restart: { intensity: 10_000 } };

test('compiler, encoder and database on ext4 over a shadowed ram disk (worker domain) while its driver fails', { skip: missing }, async () => {
  const size = 128 * MiB;
  await applicationsOn({ name: 'ramdisk', size, spec: { driver: 'ram', domain: 'worker', config: { sizeBytes: size }, warmStandby: true, ...fast } },
    { compiler: true, encoder: true, transfers: 1500, batch: 500 });
});

test('compiler, encoder and database on ext4 over a shadowed image file (file driver, process domain) while its driver fails', { skip: missing }, async () => {
  const size = 96 * MiB;
  await applicationsOn({
    name: 'imagedisk', size,
    spec: { driver: 'file', domain: 'process', config: { path: '' }, warmStandby: true, ...fast },
    prepare: async (dir) => ({ path: await sparseImage(dir, size) }),
    // Every commit is an fdatasync of the image on the host's disk here: fewer transactions.
  }, { compiler: true, encoder: true, transfers: 300, batch: 150 });
});

// ---- the same applications on the `nbd` driver: an NBD client of a real nbdkit ------------

test('compiler, encoder and database on ext4 over nbdkit\'s memory plugin (nbd driver, worker domain) while its driver fails', { skip: missingNbdkit }, async () => {
  const size = 128 * MiB;
  await applicationsOn({
    name: 'nbd-memory', size,
    spec: { driver: 'nbd', domain: 'worker', config: {}, warmStandby: true, ...fast },
    prepare: async (dir, undo) => {
      const server = nbdkit(dir, 'memory', [ONE_THREAD, 'memory', `${size}`]);
      undo(() => server.stop());
      await server.start();
      return { url: server.uri };
    },
  }, { compiler: true, encoder: true, transfers: 1500, batch: 500 });
});

test('compiler, encoder and database on ext4 over nbdkit\'s file plugin (nbd driver, process domain) while its driver fails', { skip: missingNbdkit }, async () => {
  const size = 96 * MiB;
  await applicationsOn({
    name: 'nbd-file', size,
    spec: { driver: 'nbd', domain: 'process', config: {}, warmStandby: true, ...fast },
    prepare: async (dir, undo) => {
      const server = nbdkit(dir, 'file', [ONE_THREAD, 'file', await sparseImage(dir, size)]);
      undo(() => server.stop());
      await server.start();
      return { socket: server.socket };
    },
    // nbdkit's file plugin flushes with fdatasync of the image: fewer transactions, as for `file`.
  }, { compiler: true, encoder: true, transfers: 300, batch: 150 });
});
